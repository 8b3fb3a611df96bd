export {
  DIGEST_ALGORITHMS,
  computeHa1,
  computeResponse,
  digestHash,
  parseAlgorithm,
  type DigestAlgorithm,
  type ResponseInput,
} from './algorithms.js';
export {
  StaticUserDirectory,
  TableUserDirectory,
  credentialsOf,
  firstFound,
  type StaticUser,
  type UserCredentials,
  type UserDirectory,
  type UserEntries,
} from './users.js';
export {
  checkHmacNonce,
  checkHmacOptions,
  createHmacNonce,
  randomNonce,
  type HmacNonceCheck,
  type HmacNonceOptions,
  type NonceStore,
} from './nonces.js';
export {
  challengeHeaders,
  challengeStatus,
  createChallenge,
  type ChallengeOptions,
  type CredentialHeader,
  type DigestChallenge,
  type NonceOptions,
} from './challenge.js';
export {
  NONCE_RECORD_MARGIN_MS,
  ourCredentialRows,
  removeCredentialRows,
  verify,
  type FailureReason,
  type VerifyOptions,
  type VerifyResult,
} from './verify.js';
export { answerChallenge, buildCredentials, type ChallengeAnswer, type CredentialInput } from './client.js';
