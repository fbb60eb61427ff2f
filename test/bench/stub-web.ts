// The app of the bench's agents: a stand-in for the Java service that answers every path with 200,
// /healthcheck included. `node stub-web.js PORT`.
import http from 'node:http';

http.createServer((_, response) => response.end('ok\n')).listen(Number(process.argv[2]), '127.0.0.1');
