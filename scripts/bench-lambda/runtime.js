// A minimal Node.js Lambda runtime for the benchmark (`cargo bench --bench lambda`): what the
// managed runtime's interface client does for a callback-style handler, over the Runtime API
// (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html): GET the next invocation,
// call the handler with a context, POST its result or its error. Benchmark only.
'use strict';
const http = require('http');
const path = require('path');

const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(':');
const handler = require(path.resolve(process.argv[2])).handler;
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const base = '/2018-06-01/runtime';

function call(method, p, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, method, path: base + p, agent,
      headers: body ? { 'Content-Type': 'application/json' } : {} }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function loop() {
  for (;;) {
    const next = await call('GET', '/invocation/next');
    const id = next.headers['lambda-runtime-aws-request-id'];
    const deadline = Number(next.headers['lambda-runtime-deadline-ms']);
    const event = JSON.parse(next.body.toString('utf8'));
    const result = await new Promise((resolve) => {
      let done = false;
      const finish = (err, value) => {
        if (!done) {
          done = true;
          resolve({ err, value });
        }
      };
      const context = {
        awsRequestId: id,
        callbackWaitsForEmptyEventLoop: true,
        getRemainingTimeInMillis: () => deadline - Date.now(),
        succeed: (v) => finish(null, v),
        fail: (e) => finish(e || 'failed'),
        done: (e, v) => finish(e, v),
      };
      try {
        const r = handler(event, context, finish);
        if (r && typeof r.then === 'function') r.then((v) => finish(null, v), (e) => finish(e));
      } catch (e) {
        finish(e);
      }
    });
    if (result.err) {
      await call('POST', `/invocation/${id}/error`, JSON.stringify({
        errorType: 'Error', errorMessage: String(result.err).slice(0, 1000) }));
    } else {
      await call('POST', `/invocation/${id}/response`, JSON.stringify(result.value ?? null));
    }
  }
}

loop().catch((e) => {
  console.error(e);
  process.exit(1);
});
