/**
 * The baseline: a bare Fastify server with one route returning constant JSON, no logger,
 * no plugins. Run as a child process: `node --import tsx bench/bare-server.ts <port>`.
 */
import Fastify from 'fastify';

const port = Number(process.argv[2] ?? 0);
const app = Fastify({ logger: false });
app.get('/', async () => ({ hello: 'world' }));

const address = await app.listen({ port, host: '127.0.0.1' });
process.stdout.write(`bare listening on ${address}\n`);

const stop = () => {
  app.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
