import { generateToken, isLoopback } from '../dashboard/auth.js';
import { buildDashboard } from '../dashboard/server.js';
import { UsageError } from '../errors.js';
import { untilSignal, withRuntime } from './context.js';

/** `sealmail dashboard`: the job dashboard and JSON API, until SIGINT/SIGTERM. */
export async function dashboardCommand(flags: { port: string; host: string }): Promise<number> {
  const port = Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new UsageError(`--port must be a whole number from 0 to 65535 (got "${flags.port}")`);
  }
  return withRuntime('stdout', async (runtime) => {
    let token = runtime.config.dashboard.token;
    if (!token) {
      if (!isLoopback(flags.host)) {
        throw new UsageError(
          `refusing to listen on ${flags.host} without credentials: set DASHBOARD_TOKEN (16+ characters)`,
        );
      }
      token = generateToken();
      process.stderr.write(
        `dashboard: no DASHBOARD_TOKEN set; this run's token (any user name, this as password or bearer token):\n  ${token}\n`,
      );
    }
    const app = await buildDashboard(runtime, {
      token,
      readOnly: runtime.config.dashboard.readOnly,
    });
    const address = await app.listen({ port, host: flags.host });
    runtime.logger.info(
      { address, readOnly: runtime.config.dashboard.readOnly },
      'dashboard listening',
    );
    process.stderr.write(`dashboard: ${address}/batches\n`);
    await untilSignal();
    await app.close();
    return 0;
  });
}
