import { Command, Option } from 'commander';
import { reportFailure } from './context.js';
import { dashboardCommand } from './dashboard.js';
import { demoCommand } from './demo.js';
import { enqueueCommand } from './enqueue.js';
import { pingCommand } from './ping.js';
import { runCommand } from './run.js';
import { simulateCommand } from './simulate.js';
import { batchesCommand, reportCommand, retryCommand, statusCommand } from './status.js';
import { workerCommand } from './worker.js';

const program = new Command('sealmail')
  .description(
    'Emails CertCentral site seals in bulk: CSV batches in, rate-limit aware workers out.',
  )
  .showHelpAfterError()
  .exitOverride();

type Action = (...args: never[]) => Promise<number>;
const run =
  (action: Action) =>
  async (...args: unknown[]) => {
    process.exitCode = await (action as (...a: unknown[]) => Promise<number>)(...args);
  };

program
  .command('enqueue')
  .description('validate a CSV of orders and queue one job per valid row; prints the batch id')
  .argument('<file>', 'CSV with an order id column and an optional recipient column')
  .option('--batch <id>', 'batch id (default: a new one); re-using one adds only rows it lacks')
  .option('--resend', 'send rows whose order and recipient were already sent')
  .option('--dry-run', 'validate and print what would be sent; queue nothing')
  .action(run(enqueueCommand));

program
  .command('worker')
  .description('work the queues until stopped (SIGINT/SIGTERM finish in-flight calls first)')
  .addOption(
    new Option('--lane <lane>', 'which lane')
      .choices(['throttled', 'direct', 'all'])
      .default('all'),
  )
  .action(run(workerCommand));

program
  .command('run')
  .description('enqueue a CSV and work it in this process; exits when the batch is done')
  .argument('<file>', 'CSV of orders')
  .option('--batch <id>', 'batch id (default: a new one)')
  .option('--report <out.csv>', 'write the per-row report here when done')
  .option('--resend', 'send rows whose order and recipient were already sent')
  .action(run(runCommand));

program
  .command('status')
  .description("show a batch's progress and its lanes' state")
  .argument('<batch>', 'batch id')
  .option('--json', 'machine-readable output')
  .option('--watch', 'follow the batch until it is done, with a progress bar and ETA')
  .action(run(statusCommand));

program
  .command('batches')
  .description('list the latest batches, newest first')
  .option('--limit <n>', 'how many', '20')
  .option('--json', 'machine-readable output')
  .action(run(batchesCommand));

program
  .command('retry')
  .description("queue a batch's failed rows again (sent, already-sent and rejected rows never)")
  .argument('<batch>', 'batch id')
  .option('--failed', 'retry the failed rows (the default, and the only rows ever retried)')
  .action(run(retryCommand));

program
  .command('report')
  .description("write a batch's per-row report as CSV")
  .argument('<batch>', 'batch id')
  .requiredOption('--out <out.csv>', 'where to write the report')
  .action(run(reportCommand));

program
  .command('simulate')
  .description('run a local CertCentral stand-in for rehearsals, tests and benchmarks')
  .option('--port <n>', 'port (0: any free port)', '8080')
  .option('--host <address>', 'address to listen on', '127.0.0.1')
  .option('--key <api key>', 'the API key it accepts (default: CERTCENTRAL_API_KEY or demo-key)')
  .option('--orders <ranges>', 'known order ids, e.g. 1-1000,5000', '1-1000000')
  .option('--limits <windows>', 'account limits over all requests (default: 100/5s,1000/3m)')
  .option(
    '--recipient-limits <windows>',
    'extra throttle for requests with a recipient (default: none)',
  )
  .option('--fail-rate <p>', 'share of requests answered 500/503', '0')
  .option('--reset-rate <p>', 'share of connections reset without an answer', '0')
  .option('--slow-rate <p>', 'share of requests answered after --slow-ms', '0')
  .option('--slow-ms <ms>', 'delay of slow answers', '60000')
  .option('--latency-ms <ms>', 'delay before every answer', '0')
  .option('--record <file>', 'append every delivered email to this file (JSON lines)')
  .action(run(simulateCommand));

program
  .command('dashboard')
  .description('serve the job dashboard, the batch API and /metrics (auth: DASHBOARD_TOKEN)')
  .option('--port <n>', 'port', '3000')
  .option(
    '--host <address>',
    'address to listen on (non-loopback needs DASHBOARD_TOKEN)',
    '127.0.0.1',
  )
  .action(run(dashboardCommand));

program
  .command('ping')
  .description('check that Redis answers (exit 0), for health checks')
  .action(run(pingCommand));

program
  .command('demo')
  .description('rehearse a batch against a built-in simulator (no API key, no real emails)')
  .option('--file <csv>', 'CSV to rehearse with (default: examples/orders.csv)')
  .option('--report <out.csv>', 'where to write the report', 'demo-report.csv')
  .action(run(demoCommand));

try {
  await program.parseAsync(process.argv);
} catch (error) {
  const code = (error as { code?: string }).code;
  if (
    code === 'commander.helpDisplayed' ||
    code === 'commander.version' ||
    code === 'commander.help'
  ) {
    process.exitCode = 0;
  } else if (typeof code === 'string' && code.startsWith('commander.')) {
    process.exitCode = 2;
  } else {
    process.exitCode = reportFailure(error);
  }
}
