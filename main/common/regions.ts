// AWS region names and the partition each belongs to (facts from the AWS SDKs' partition table,
// @aws-sdk's util-endpoints partitions, Apache-2.0, as of December 2026). A request's region comes
// from its SigV4 credential scope; a name that is no AWS region is refused there rather than opening
// an empty key space, and ARNs carry the region's partition (`aws-cn` for cn-*, `aws-us-gov` for
// us-gov-*). Newer regions can be allowed by configuration before this table learns them.

export const AWS_PARTITIONS = {
  aws: [
    'af-south-1', 'ap-east-1', 'ap-east-2', 'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3', 'ap-south-1', 'ap-south-2',
    'ap-southeast-1', 'ap-southeast-2', 'ap-southeast-3', 'ap-southeast-4', 'ap-southeast-5', 'ap-southeast-6', 'ap-southeast-7',
    'ca-central-1', 'ca-west-1', 'eu-central-1', 'eu-central-2', 'eu-north-1', 'eu-south-1', 'eu-south-2', 'eu-west-1',
    'eu-west-2', 'eu-west-3', 'il-central-1', 'me-central-1', 'me-south-1', 'me-west-1', 'mx-central-1', 'sa-east-1',
    'sa-west-1', 'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2',
  ],
  'aws-cn': ['cn-north-1', 'cn-northwest-1'],
  'aws-eusc': ['eusc-de-east-1'],
  'aws-iso': ['us-iso-east-1', 'us-iso-west-1'],
  'aws-iso-b': ['us-isob-east-1', 'us-isob-west-1'],
  'aws-iso-e': ['eu-isoe-west-1'],
  'aws-iso-f': ['us-isof-east-1', 'us-isof-south-1'],
  'aws-us-gov': ['us-gov-east-1', 'us-gov-west-1'],
} as const satisfies Record<string, readonly string[]>;

export type Partition = keyof typeof AWS_PARTITIONS;

export const AWS_REGIONS: ReadonlySet<string> = new Set(Object.values(AWS_PARTITIONS).flat());

// The partitions' region-name patterns, for regions newer than the table (allowed by configuration).
const PARTITION_PATTERNS: readonly [Partition, RegExp][] = [
  ['aws-us-gov', /^us-gov-\w+-\d+$/],
  ['aws-iso-b', /^us-isob-\w+-\d+$/],
  ['aws-iso-f', /^us-isof-\w+-\d+$/],
  ['aws-iso', /^us-iso-\w+-\d+$/],
  ['aws-iso-e', /^eu-isoe-\w+-\d+$/],
  ['aws-eusc', /^eusc-de-\w+-\d+$/],
  ['aws-cn', /^cn-\w+-\d+$/],
  ['aws', /^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$/],
];

/** The partition of a region name: from the table, else from the partitions' name patterns, else `aws`. */
const PARTITION_OF_REGION: ReadonlyMap<string, Partition> = new Map(
  (Object.entries(AWS_PARTITIONS) as [Partition, readonly string[]][]).flatMap(([partition, regions]) => regions.map((r) => [r, partition] as const)),
);

export function partitionOf(region: string): Partition {
  const known = PARTITION_OF_REGION.get(region);
  if (known) return known;
  for (const [partition, pattern] of PARTITION_PATTERNS) if (pattern.test(region)) return partition;
  return 'aws';
}

/**
 * An IAM or STS principal's ARN as a request signed for `region` sees it: in the region's partition.
 * Credentials are stored with `arn:aws:` (auth/credentials.ts); a caller in cn-north-1 is
 * `arn:aws-cn:…`, and STS's answer, the audit log and an XKS proxy's request metadata all say so.
 */
export function principalInRegion(principalArn: string, region: string): string {
  return principalArn.replace(/^arn:aws:/, `arn:${partitionOf(region)}:`);
}
