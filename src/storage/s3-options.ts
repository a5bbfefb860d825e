/**
 * How to reach S3, in types of our own: a consumer type-checks against this package without
 * loading the AWS SDK's declarations (which TypeScript 7 rejects without `skipLibCheck`).
 */

/** Static credentials, as the SDK's `AwsCredentialIdentity`. */
export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

export interface S3StorageOptions {
  /** An S3-compatible endpoint URL; default `AWS_ENDPOINT_URL_S3`, then `AWS_ENDPOINT_URL`, then AWS. */
  endpoint?: string;
  /** Default `AWS_REGION`, then `AWS_DEFAULT_REGION`, then us-east-1. */
  region?: string;
  /** Address buckets as `endpoint/bucket/key`; default on when an endpoint is set (MinIO, moto, Ceph need it). */
  forcePathStyle?: boolean;
  /** Explicit credentials, or a function giving them; default the SDK's credential chain (env, profile, SSO, instance role…). */
  credentials?: S3Credentials | (() => Promise<S3Credentials>);
  /** A ready `S3Client` of `@aws-sdk/client-s3`; the options above are then used only to name the endpoint in messages. */
  client?: object;
}
