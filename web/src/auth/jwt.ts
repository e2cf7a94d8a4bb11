// Reading (not verifying) the claims of a JWT the app received straight from the token endpoint
// over TLS: OpenID Connect Core §3.1.3.7 lets a client rely on TLS instead of the signature
// then. The API verifies every token it is sent (API Gateway's JWT authorizer / vocab-local).

export interface Claims {
  sub?: string;
  iss?: string;
  aud?: string | string[];
  client_id?: string;
  token_use?: string;
  exp?: number;
  email?: string;
  name?: string;
  picture?: string;
  [k: string]: unknown;
}

export function decodeClaims(token: string): Claims {
  const part = token.split('.')[1];
  if (!part) throw new Error('not a JWT');
  const b64 = part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '=');
  const bin = atob(b64);
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  const claims = JSON.parse(new TextDecoder().decode(bytes)) as unknown;
  if (!claims || typeof claims !== 'object') throw new Error('JWT payload is not an object');
  return claims as Claims;
}
