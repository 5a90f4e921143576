// The package-time helpers behind serverless.yml (deploy/serverless.cjs).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const deploy = require('../../deploy/serverless.cjs') as {
  secretResource(id: string): { store: string; resource: unknown };
  deliveryStatements(env: Record<string, string>): unknown[];
  vpcFrom(subnets: string, groups: string): unknown;
  throttleFrom(env: Record<string, string>): unknown;
  provisionedConcurrencyFrom(env: Record<string, string>): number;
};

const sub = (s: string) => ({ 'Fn::Sub': s });

describe('deploy/serverless.cjs', () => {
  it('maps each form of X_SECRET_ID to the IAM resource it needs', () => {
    expect(deploy.secretResource('prod/db')).toEqual({
      store: 'secretsmanager',
      resource: sub(
        'arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:prod/db-??????',
      ),
    });
    // A partial ARN (no random suffix) still matches the secret, and only it.
    expect(deploy.secretResource('arn:aws:secretsmanager:eu-west-1:1:secret:db').resource).toBe(
      'arn:aws:secretsmanager:eu-west-1:1:secret:db-??????',
    );
    expect(
      deploy.secretResource('arn:aws:secretsmanager:eu-west-1:1:secret:db-Ab12Cd').resource,
    ).toBe('arn:aws:secretsmanager:eu-west-1:1:secret:db-Ab12Cd');
    expect(deploy.secretResource('ssm:/app/jwt')).toEqual({
      store: 'ssm',
      resource: sub('arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/app/jwt'),
    });
    expect(deploy.secretResource('ssm:arn:aws:ssm:us-east-1:1:parameter/x').resource).toBe(
      'arn:aws:ssm:us-east-1:1:parameter/x',
    );
  });

  it('grants delivery permissions only for the adapters in use', () => {
    expect(deploy.deliveryStatements({ CODE_DELIVERY: 'webhook' })).toEqual([]);
    expect(deploy.deliveryStatements({ CODE_DELIVERY: 'sns' })).toEqual([
      // Phone numbers only: every SNS ARN (a topic) is excluded.
      {
        Effect: 'Allow',
        Action: ['sns:Publish'],
        NotResource: sub('arn:${AWS::Partition}:sns:*:*:*'),
      },
    ]);
    expect(() => deploy.deliveryStatements({ CODE_DELIVERY: 'ses' })).toThrow(
      'SES_FROM_ADDRESS is not set',
    );
    expect(
      deploy.deliveryStatements({
        CODE_DELIVERY: 'ses',
        SES_FROM_ADDRESS: 'a@example.org',
        SES_REGION: 'us-east-1',
      }),
    ).toEqual([
      expect.objectContaining({
        Resource: [
          sub('arn:${AWS::Partition}:ses:us-east-1:${AWS::AccountId}:identity/example.org'),
          sub('arn:${AWS::Partition}:ses:us-east-1:${AWS::AccountId}:identity/a@example.org'),
        ],
      }),
    ]);
  });

  it('attaches a VPC only with both subnets and security groups', () => {
    expect(deploy.vpcFrom('', '')).toBeNull();
    expect(deploy.vpcFrom('subnet-1,subnet-2', 'sg-1')).toEqual({
      subnetIds: ['subnet-1', 'subnet-2'],
      securityGroupIds: ['sg-1'],
    });
    expect(() => deploy.vpcFrom('subnet-1', '')).toThrow('must be set together');
  });

  it('reads route throttling with defaults, and names a bad setting', () => {
    expect(deploy.throttleFrom({})).toEqual({
      ThrottlingRateLimit: 100,
      ThrottlingBurstLimit: 200,
    });
    expect(deploy.throttleFrom({ API_THROTTLE_RATE: '0.5', API_THROTTLE_BURST: '10' })).toEqual({
      ThrottlingRateLimit: 0.5,
      ThrottlingBurstLimit: 10,
    });
    expect(() => deploy.throttleFrom({ API_THROTTLE_RATE: '1e3' })).toThrow(/API_THROTTLE_RATE/);
    expect(() => deploy.throttleFrom({ API_THROTTLE_BURST: '0' })).toThrow(/API_THROTTLE_BURST/);
  });

  it('reads the provisioned concurrency of the send and the verify, 0 when unset, and names a bad setting', () => {
    expect(deploy.provisionedConcurrencyFrom({})).toBe(0);
    expect(deploy.provisionedConcurrencyFrom({ CODE_PROVISIONED_CONCURRENCY: ' ' })).toBe(0);
    expect(deploy.provisionedConcurrencyFrom({ CODE_PROVISIONED_CONCURRENCY: '0' })).toBe(0);
    expect(deploy.provisionedConcurrencyFrom({ CODE_PROVISIONED_CONCURRENCY: ' 3 ' })).toBe(3);
    for (const bad of ['two', '1.5', '-1', '1e2']) {
      expect(() =>
        deploy.provisionedConcurrencyFrom({ CODE_PROVISIONED_CONCURRENCY: bad }),
      ).toThrow(`CODE_PROVISIONED_CONCURRENCY must be a whole number of 0 or more, got "${bad}"`);
    }
  });
});
