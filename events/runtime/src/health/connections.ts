import type { ServerResponse } from 'node:http';
import { type BeforeApplicationShutdown, Injectable } from '@nestjs/common';

/**
 * On a stop, Nest closes the HTTP server, which then waits for every open connection to end. A
 * connection with a request in hand stays open, and a client that keeps it alive (the Knative
 * dispatcher's pool, a gateway) can go on sending on it: the stop would last until the client lets
 * go, at worst until the grace period's SIGKILL, and the relay's last drain (after the HTTP server)
 * would not run. So, from the start of the stop, every response closes its connection.
 */
@Injectable()
export class ConnectionsCloseOnStop implements BeforeApplicationShutdown {
  private readonly inHand = new Set<ServerResponse>();
  private stopping = false;

  /** Express middleware, mounted before every route. */
  readonly middleware = (_req: unknown, res: ServerResponse, next: () => void): void => {
    if (this.stopping) res.setHeader('connection', 'close');
    else {
      this.inHand.add(res);
      res.once('close', () => this.inHand.delete(res));
    }
    next();
  };

  beforeApplicationShutdown(): void {
    this.stopping = true;
    for (const res of this.inHand) if (!res.headersSent) res.setHeader('connection', 'close');
  }
}
