// Cognito on moto's server: the user pool, the app client and users the sign-in tests use.
// moto implements the user-pool API (JSON over HTTP, X-Amz-Target) and issues RS256 tokens;
// its JWKS is at http://MOTO/<pool_id>/.well-known/jwks.json while `iss` names the AWS URL.

export const REGION = 'us-east-1';

export class CognitoError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

/** One call of the Cognito user-pool API on moto. moto doesn't check the signature. */
export async function cognito<T = Record<string, unknown>>(moto: string, target: string, body: object): Promise<T> {
  const res = await fetch(`${moto}/`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': `AWSCognitoIdentityProviderService.${target}`,
      authorization: `AWS4-HMAC-SHA256 Credential=test/20260101/${REGION}/cognito-idp/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  const parsed = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
  if (!res.ok) {
    const type = String(parsed.__type ?? res.status).split('#').pop() ?? 'Error';
    throw new CognitoError(type, `${target}: ${type}: ${String(parsed.message ?? text)}`);
  }
  return parsed as T;
}

export interface Pool {
  poolId: string;
  clientId: string;
  /** The `iss` of the tokens moto issues. */
  issuer: string;
  jwksUrl: string;
}

export async function createPool(moto: string, app: { callback: string; logout: string }): Promise<Pool> {
  const { UserPool } = await cognito<{ UserPool: { Id: string } }>(moto, 'CreateUserPool', {
    PoolName: `vocab-web-${Date.now()}`,
    Schema: [{ Name: 'picture', AttributeDataType: 'String', Mutable: true }],
  });
  // The SPA's app client as infra/ defines it: public (no secret), code grant, these scopes,
  // the app's callback and sign-out URLs; plus USER_PASSWORD_AUTH, which only the stand-in
  // hosted UI uses to have moto issue the tokens.
  const { UserPoolClient } = await cognito<{ UserPoolClient: { ClientId: string } }>(moto, 'CreateUserPoolClient', {
    UserPoolId: UserPool.Id,
    ClientName: 'web',
    GenerateSecret: false,
    AllowedOAuthFlows: ['code'],
    AllowedOAuthFlowsUserPoolClient: true,
    AllowedOAuthScopes: ['openid', 'email', 'profile'],
    CallbackURLs: [app.callback],
    LogoutURLs: [app.logout],
    SupportedIdentityProviders: ['COGNITO'],
    ExplicitAuthFlows: ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
    ReadAttributes: ['email', 'name', 'picture'],
  });
  return {
    poolId: UserPool.Id,
    clientId: UserPoolClient.ClientId,
    issuer: `https://cognito-idp.${REGION}.amazonaws.com/${UserPool.Id}`,
    jwksUrl: `${moto}/${UserPool.Id}/.well-known/jwks.json`,
  };
}

export async function createUser(moto: string, pool: Pool, u: { username: string; password: string; email: string; name: string; picture: string }): Promise<void> {
  await cognito(moto, 'AdminCreateUser', {
    UserPoolId: pool.poolId,
    Username: u.username,
    MessageAction: 'SUPPRESS',
    UserAttributes: [
      { Name: 'email', Value: u.email },
      { Name: 'email_verified', Value: 'true' },
      { Name: 'name', Value: u.name },
      { Name: 'picture', Value: u.picture },
    ],
  });
  await cognito(moto, 'AdminSetUserPassword', { UserPoolId: pool.poolId, Username: u.username, Password: u.password, Permanent: true });
}

export interface MotoTokens {
  AccessToken: string;
  IdToken: string;
  RefreshToken?: string;
  ExpiresIn: number;
  TokenType: string;
}

export async function passwordAuth(moto: string, clientId: string, username: string, password: string): Promise<MotoTokens> {
  const r = await cognito<{ AuthenticationResult: MotoTokens }>(moto, 'InitiateAuth', {
    ClientId: clientId,
    AuthFlow: 'USER_PASSWORD_AUTH',
    AuthParameters: { USERNAME: username, PASSWORD: password },
  });
  return r.AuthenticationResult;
}

export async function refreshAuth(moto: string, clientId: string, refreshToken: string): Promise<MotoTokens> {
  const r = await cognito<{ AuthenticationResult: MotoTokens }>(moto, 'InitiateAuth', {
    ClientId: clientId,
    AuthFlow: 'REFRESH_TOKEN_AUTH',
    AuthParameters: { REFRESH_TOKEN: refreshToken },
  });
  return r.AuthenticationResult;
}

export async function describeClient(moto: string, pool: Pool): Promise<{ CallbackURLs?: string[]; LogoutURLs?: string[]; AllowedOAuthFlows?: string[]; AllowedOAuthScopes?: string[] }> {
  const r = await cognito<{ UserPoolClient: Record<string, string[]> }>(moto, 'DescribeUserPoolClient', { UserPoolId: pool.poolId, ClientId: pool.clientId });
  return r.UserPoolClient;
}
