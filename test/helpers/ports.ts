// Free TCP ports on 127.0.0.1 for the servers the registry tests start.
// The kernel picks a free port when we listen on port 0; we close and hand the number to
// the child process. The window between close and the child's bind is tiny, and nothing
// else on this machine allocates ports in a tight loop, so collisions are not a concern.
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('could not allocate a free port'));
        return;
      }
      const port = addr.port;
      srv.close(() => resolve(port));
    });
  });
}
