// The only importer of Fastify: builds the HTTP(S) server, its routes and its error handling.
// It knows nothing of checks or registries: it is handed a `review` function.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Ajv } from 'ajv';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Logger } from 'pino';
import { Deadline, deadlineMs, type SignalSource } from '../admission/deadline.js';
import type { ReviewOutcome } from '../admission/handle-review.js';
import { admissionReviewSchema, allowResponse, type AdmissionReviewRequest } from '../admission/review.js';
import { oneLine } from '../admission/verdict.js';
import type { Config } from '../config/schema.js';

export interface ServerDeps {
  config: Pick<Config, 'server' | 'admission'>;
  review: (review: AdmissionReviewRequest, signal: SignalSource) => Promise<ReviewOutcome>;
  logger: Logger;
  /** TLS key and certificate; without them the server speaks plain HTTP (tests through inject()). */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** Readiness: false while starting and draining. */
  ready?: () => boolean;
  /** Prometheus exposition for GET /metrics, and a hook after each review. */
  metrics?: {
    contentType: string;
    render(): Promise<string>;
    review(kind: string, operation: string, outcome: ReviewOutcome | undefined, seconds: number, failure: 'deadline' | 'error' | undefined): void;
  };
}

/** Time a client has to send a whole request body (the API server sends it in one go). */
const BODY_DEADLINE_MS = 10_000;

/** Extra time past the deadline before the route answers on its own, whatever the review is doing. */
const HARD_STOP_SLACK_MS = 250;

// The envelope is validated without coercion or stripping: the object under review must reach
// the checks exactly as the API server sent it.
const envelopeAjv = new Ajv({ allErrors: false, coerceTypes: false, removeAdditional: false, useDefaults: false, strict: false });

export function buildServer(deps: ServerDeps): FastifyInstance {
  const log = deps.logger;
  const opts: FastifyServerOptions & { https?: unknown } = {
    // Fastify gets no logger: every line this server writes is its own, through deps.logger (one
    // line per review with its uid and verdict, internal errors, failures). With a logger, Fastify
    // pays per request for a request id, a child logger check and 'finish'/'error' listeners on
    // every response (for its "request completed" line, which the review line replaces): ~15 us
    // per review on a 2 GHz core, 8 % of the no-op floor. What Fastify alone would have logged is
    // a framework misuse warning (a reply sent twice...) and onClose hook errors: the tests cover
    // the first, and app.ts logs the engine's close errors itself.
    logger: false,
    bodyLimit: deps.config.server.bodyLimitBytes,
    // A client that trickles its body must not hold a socket: the API server sends a review in
    // one go, so 10 s for a whole request is generous.
    requestTimeout: 10_000,
    connectionTimeout: 60_000,
    keepAliveTimeout: 65_000,
    return503OnClosing: true,
    // connectionsCheckingInterval: how often Node enforces requestTimeout (default 30 s, which
    // would let a trickling client live up to twice the timeout). Passed to https.createServer.
    ...(deps.tls ? { https: { key: deps.tls.key, cert: deps.tls.cert, minVersion: 'TLSv1.2', connectionsCheckingInterval: 1000 } } : {}),
  };
  const app = Fastify(opts as FastifyServerOptions);

  // The API server sends application/json only; anything else is a client mistake (415).
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler(({ schema }) => envelopeAjv.compile(schema));

  // Every client error is a 400-family answer with one line of reason; never a stack, never a 500.
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) log.error({ err, method: request.method, url: request.url.split('?')[0] }, 'internal error');
    let message = err.message;
    if (err.validation) message = `invalid AdmissionReview: ${err.validationContext ?? 'body'}${err.validation[0]?.instancePath ?? ''} ${err.validation[0]?.message ?? 'is invalid'}`;
    else if (err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError) message = `invalid AdmissionReview: body is not valid JSON (${err.message})`;
    else if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') message = 'invalid AdmissionReview: body is empty';
    else if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') message = `AdmissionReview too large: the limit is ${deps.config.server.bodyLimitBytes} bytes (server.bodyLimitBytes)`;
    else if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') message = `unsupported content type ${JSON.stringify(request.headers['content-type'] ?? '')}: send application/json`;
    else if (status === 500) message = 'internal error';
    void reply.code(status).send({ error: oneLine(message), statusCode: status });
  });

  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ error: `no route ${request.method} ${request.url.split('?')[0]}; the webhook path is POST /validate`, statusCode: 404 });
  });

  // Node's requestTimeout does not reliably cut a client that trickles an already-started body,
  // so the body gets its own deadline: whoever has not sent it all in time loses the socket.
  // Tracked per connection, on the raw server's 'request' event, and swept once a second: a
  // keep-alive connection carries thousands of reviews, and Fastify hooks (onRequest +
  // onResponse) cost ~7 us per review on the warm path, a tenth of a whole review.
  // The same listener marks the answer to every request that arrives while draining
  // `Connection: close` (and /validate checks again when it answers, for a review in flight when
  // draining began): a keep-alive socket would otherwise hold the process until keepAliveTimeout.
  const connections = new Map<Socket, { request: IncomingMessage; since: number }>();
  const ready = deps.ready;
  const onRequest = (request: IncomingMessage, response: ServerResponse): void => {
    const socket = request.socket;
    const current = connections.get(socket);
    if (current) {
      current.request = request;
      current.since = performance.now();
    } else {
      connections.set(socket, { request, since: performance.now() });
      socket.once('close', () => connections.delete(socket));
    }
    if (ready && !ready() && !response.headersSent) response.setHeader('connection', 'close');
  };
  // Before Fastify's own listener, so the header is set before any answer is written.
  app.server.prependListener('request', onRequest);
  const sweep = setInterval(() => {
    const tooOld = performance.now() - BODY_DEADLINE_MS;
    for (const [socket, { request, since }] of connections) {
      if (socket.destroyed) connections.delete(socket);
      else if (!request.complete && since < tooOld) {
        connections.delete(socket);
        socket.destroy();
      }
    }
  }, 1000);
  sweep.unref();
  app.addHook('onClose', (_app, done) => {
    clearInterval(sweep);
    app.server.off('request', onRequest);
    connections.clear();
    done();
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const isReady = ready ? ready() : true;
    return reply.code(isReady ? 200 : 503).send({ status: isReady ? 'ready' : 'not ready' });
  });

  if (deps.metrics) {
    const metrics = deps.metrics;
    app.get('/metrics', async (_req, reply) => reply.type(metrics.contentType).send(await metrics.render()));
  }

  app.post<{ Body: AdmissionReviewRequest; Querystring: { timeout?: string } }>(
    '/validate',
    { schema: { body: admissionReviewSchema } },
    async (request, reply) => {
      const started = performance.now();
      const review = request.body;
      const req = review.request;
      const budget = deadlineMs(request.query.timeout, deps.config.admission.budgetMs, deps.config.admission.safetyMarginMs);
      // One timer, cleared once the answer is built (AbortSignal.timeout cannot be cancelled and
      // would keep every review's state alive for the whole budget); the signal is made on demand.
      const deadline = new Deadline(budget, HARD_STOP_SLACK_MS);
      let outcome: ReviewOutcome | undefined;
      let failure: unknown;
      try {
        // The checks honour the signal; the hard stop guarantees an answer even if something does not.
        outcome = await new Promise<ReviewOutcome | undefined>((resolve, reject) => {
          deadline.onHardStop = () => resolve(undefined);
          deps.review(review, deadline).then(resolve, reject);
        });
      } catch (err) {
        failure = err;
      } finally {
        deadline.done();
      }
      let response;
      if (outcome) {
        response = outcome.response;
      } else if (failure !== undefined && !deps.config.admission.failOpen) {
        // failOpen false: a webhook failure, and the API server's failurePolicy decides.
        log.error({ err: failure, uid: req.uid }, 'review failed; failing closed');
        throw failure;
      } else {
        const why = failure !== undefined ? `an internal error (${oneLine(String((failure as Error)?.message ?? failure))})` : 'its deadline';
        if (failure !== undefined) log.error({ err: failure, uid: req.uid }, 'review failed; failing open');
        response = allowResponse(req.uid, [`backoff-guard could not check this ${req.kind.kind} because of ${why}; allowed unchecked`.slice(0, 256)]);
      }
      // Readiness may have turned off while this review ran (draining): its connection closes too.
      if (ready && !ready()) void reply.header('connection', 'close');
      const ms = Math.round((performance.now() - started) * 10) / 10;
      deps.metrics?.review(req.kind.kind, req.operation, outcome, ms / 1000, outcome ? undefined : failure !== undefined ? 'error' : 'deadline');
      // A clean allow (no finding, no failure) is the common case and the metrics count it: it is
      // logged at debug; every denial, warning, skip by deadline or failure is logged at info.
      const eventful = !response.response.allowed || !outcome || outcome.findings.length > 0 || outcome.timedOut > 0 || (response.response.warnings?.length ?? 0) > 0;
      if (eventful || log.isLevelEnabled('debug')) {
        log[eventful ? 'info' : 'debug'](
          {
            uid: req.uid,
            kind: req.kind.kind,
            namespace: req.namespace,
            name: req.name,
            operation: req.operation,
            dryRun: req.dryRun ?? false,
            allowed: response.response.allowed,
            mode: outcome?.mode,
            skipped: outcome?.skipped,
            findings: outcome?.findings.map((f) => `${f.container}:${f.checkId}:${f.certainty}`),
            timedOut: outcome?.timedOut,
            memoized: outcome?.memoized,
            ms,
          },
          'review',
        );
      }
      return response;
    },
  );

  return app;
}
