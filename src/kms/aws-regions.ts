// The Regions of AWS's public partitions (aws, aws-cn, aws-us-gov, aws-eusc), as AWS lists them
// (https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-regions.html; here as in
// botocore 1.43's endpoints.json). Used only to word errors: a credential scoped to one of these
// that this EdgeKMS does not serve is a client configured for AWS (AWS_REGION, a profile's region),
// and its error lists the Regions that are served. Which Regions are served is [vars.REGIONS] alone.
export const AWS_REGIONS: ReadonlySet<string> = new Set([
  "af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-south-2",
  "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-6", "ap-southeast-7",
  "ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2",
  "eu-west-3", "il-central-1", "me-central-1", "me-south-1", "mx-central-1", "sa-east-1", "us-east-1", "us-east-2", "us-west-1",
  "us-west-2",
  "cn-north-1", "cn-northwest-1",
  "us-gov-east-1", "us-gov-west-1",
  "eusc-de-east-1",
]);
