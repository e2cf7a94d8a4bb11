// CloudFront Function (cloudfront-js-2.0), viewer request of the default (S3) behaviour: the
// single-page app's own paths (/lists/abc, /auth/callback, /) have no file extension in their
// last segment and are answered with index.html; files (/assets/app-1a2b.js, /config.json,
// /favicon.ico) are fetched as they are, so a missing file stays a 404. /api/* never gets here
// (its own behaviour), and /api alone is an API path too: 404, never the app.
function handler(event) {
  var request = event.request;
  var uri = request.uri;
  if (uri === '/api') {
    return { statusCode: 404, statusDescription: 'Not Found' };
  }
  var last = uri.substring(uri.lastIndexOf('/') + 1);
  if (last.indexOf('.') === -1) {
    request.uri = '/index.html';
  }
  return request;
}
