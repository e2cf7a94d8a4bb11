// CloudFront Function (cloudfront-js-2.0), viewer request of the /api/* behaviour: the API
// knows its routes without the /api prefix the browser uses (docs/CONTRACTS.md section A), so
// /api/lists?limit=5 reaches API Gateway as /lists?limit=5. The query string is separate
// (event.request.querystring) and passes through untouched.
function handler(event) {
  var request = event.request;
  var uri = request.uri.substring('/api'.length);
  request.uri = uri === '' ? '/' : uri;
  return request;
}
