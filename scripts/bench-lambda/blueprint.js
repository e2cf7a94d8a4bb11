// The comparison the shipper is measured against: the function the CloudWatch Logs console
// creates for "Stream to Amazon OpenSearch Service" (the LogsToElasticsearch blueprint,
// v1.1.2, Node.js), written out here from its documented behaviour for `cargo bench --bench
// lambda`. Benchmark only, never deployed. What it does, as the blueprint does it:
// - base64 → gunzip → JSON.parse of the whole payload;
// - per event, one `index` action into `cwl-YYYY.MM.DD` with the event id as `_id`; the
//   source is the JSON object found in the message (from its first `{`, parsed twice: once to
//   check, once to use) or `{}`, plus @id, @timestamp, @message, @owner, @log_group, @log_stream;
// - the whole batch as one uncompressed `_bulk` request, SigV4-signed with the function's
//   credentials; the answer parsed in full; any failed item fails the invocation (the
//   blueprint retries nothing itself).
'use strict';
const http = require('http');
const https = require('https');
const zlib = require('zlib');
const crypto = require('crypto');

const endpoint = new URL(process.env.ENDPOINT);
// The blueprint's own prefix unless the bench gives each run its own (against a real cluster,
// so a run's `index` actions never land on documents an earlier run wrote).
const indexPrefix = process.env.INDEX_PREFIX || 'cwl-';
const agent = endpoint.protocol === 'https:' ? https : http;

exports.handler = function (input, context) {
  const zipped = Buffer.from(input.awslogs.data, 'base64');
  zlib.gunzip(zipped, (error, buffer) => {
    if (error) {
      context.fail(error);
      return;
    }
    const awslogsData = JSON.parse(buffer.toString('utf8'));
    const body = transform(awslogsData);
    if (!body) {
      context.succeed('Control message handled successfully');
      return;
    }
    post(body, (err, success) => {
      if (err) {
        context.fail(JSON.stringify(err));
      } else {
        context.succeed('Success: ' + JSON.stringify(success));
      }
    });
  });
};

function transform(payload) {
  if (payload.messageType === 'CONTROL_MESSAGE') return null;
  let bulk = '';
  for (const ev of payload.logEvents) {
    const ts = new Date(1 * ev.timestamp);
    const indexName = [indexPrefix + ts.getUTCFullYear(), ('0' + (ts.getUTCMonth() + 1)).slice(-2),
      ('0' + ts.getUTCDate()).slice(-2)].join('.');
    const source = buildSource(ev.message, ev.extractedFields);
    source['@id'] = ev.id;
    source['@timestamp'] = ts.toISOString();
    source['@message'] = ev.message;
    source['@owner'] = payload.owner;
    source['@log_group'] = payload.logGroup;
    source['@log_stream'] = payload.logStream;
    const action = { index: { _index: indexName, _id: ev.id } };
    bulk += JSON.stringify(action) + '\n' + JSON.stringify(source) + '\n';
  }
  return bulk;
}

function buildSource(message, extractedFields) {
  if (extractedFields) {
    const source = {};
    for (const key of Object.keys(extractedFields)) {
      const value = extractedFields[key];
      if (!value) continue;
      if (isNumeric(value)) {
        source[key] = 1 * value;
        continue;
      }
      const json = extractJson(value);
      if (json !== null) source['$' + key] = JSON.parse(json);
      source[key] = value;
    }
    return source;
  }
  const json = extractJson(message);
  return json !== null ? JSON.parse(json) : {};
}

function extractJson(message) {
  const start = message.indexOf('{');
  if (start < 0) return null;
  const sub = message.substring(start);
  return isValidJson(sub) ? sub : null;
}

function isValidJson(s) {
  try {
    JSON.parse(s);
  } catch (e) {
    return false;
  }
  return true;
}

function isNumeric(n) {
  return !isNaN(parseFloat(n)) && isFinite(n);
}

function post(body, callback) {
  const req = buildRequest(body);
  const r = agent.request(req, (response) => {
    let responseBody = '';
    response.on('data', (chunk) => { responseBody += chunk; });
    response.on('end', () => {
      let info;
      try {
        info = JSON.parse(responseBody);
      } catch (e) {
        callback({ statusCode: response.statusCode, responseBody }, null);
        return;
      }
      let failedItems = [];
      let success = null;
      if (response.statusCode >= 200 && response.statusCode < 299) {
        failedItems = info.items.filter((x) => x.index.status >= 300);
        success = { attemptedItems: info.items.length,
          successfulItems: info.items.length - failedItems.length,
          failedItems: failedItems.length };
      }
      const error = response.statusCode !== 200 || info.errors === true
        ? { statusCode: response.statusCode, responseBody: responseBody.slice(0, 500) } : null;
      callback(error, success);
    });
  });
  r.on('error', (e) => callback(e, null));
  r.end(req.body);
}

// SigV4 for service `es`, as the blueprint signs (credentials from the environment).
function buildRequest(body) {
  const region = process.env.AWS_REGION;
  const datetime = new Date().toISOString().replace(/[:-]|\.\d{3}/g, '');
  const date = datetime.substr(0, 8);
  const bodyBuf = Buffer.from(body, 'utf8');
  const request = {
    host: endpoint.hostname, port: endpoint.port, method: 'POST', path: '/_bulk', body: bodyBuf,
    headers: {
      'Content-Type': 'application/json', 'Host': endpoint.host,
      'Content-Length': bodyBuf.length,
      'X-Amz-Security-Token': process.env.AWS_SESSION_TOKEN, 'X-Amz-Date': datetime,
    },
  };
  const names = Object.keys(request.headers).sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1));
  const signed = names.map((n) => n.toLowerCase()).join(';');
  const canonical = ['POST', '/_bulk', '',
    names.map((n) => n.toLowerCase() + ':' + request.headers[n]).join('\n') + '\n', signed,
    hash(bodyBuf, 'hex')].join('\n');
  const scope = [date, region, 'es', 'aws4_request'].join('/');
  const toSign = ['AWS4-HMAC-SHA256', datetime, scope, hash(canonical, 'hex')].join('\n');
  const kDate = hmac('AWS4' + process.env.AWS_SECRET_ACCESS_KEY, date);
  const kSigning = hmac(hmac(hmac(kDate, region), 'es'), 'aws4_request');
  request.headers.Authorization = 'AWS4-HMAC-SHA256 Credential=' + process.env.AWS_ACCESS_KEY_ID +
    '/' + scope + ', SignedHeaders=' + signed + ', Signature=' + hmac(kSigning, toSign, 'hex');
  return request;
}

function hmac(key, str, encoding) {
  return crypto.createHmac('sha256', key).update(str, 'utf8').digest(encoding);
}

function hash(str, encoding) {
  return crypto.createHash('sha256').update(str, 'utf8').digest(encoding);
}
