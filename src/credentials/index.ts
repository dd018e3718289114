// Pure pull-credential logic, as the kubelet applies it: docker config parsing and keyring
// matching. No I/O: the Secrets come from src/kube/, the registry calls from src/facts/.
export {
  parseDockerConfigJson,
  parseDockercfg,
  parseDockerConfigFile,
  parsePullSecret,
  decodeAuthField,
  DockerConfigError,
  SECRET_TYPE_DOCKER_CONFIG_JSON,
  SECRET_TYPE_DOCKERCFG,
  DOCKER_CONFIG_JSON_KEY,
  DOCKERCFG_KEY,
  type Credential,
  type DockerConfigEntry,
  type DockerConfigExtras,
  type SecretData,
  type SecretParse,
} from './docker-config.js';
export {
  Keyring,
  unionLookup,
  urlsMatch,
  indexKeyOf,
  isDefaultRegistryMatch,
  credentialId,
  describeSource,
  type CredentialSource,
  type MatchedCredential,
} from './keyring.js';
export { filepathMatch } from './go-match.js';
