/**
 * Test helpers for other packages (`@sipedge/edge/testing`): a throw-away TLS test PKI made with
 * the `openssl` CLI, and its PEM files in a temporary directory (`testPemFiles` registers vitest
 * hooks, so import this module from tests only).
 */
export {
  type TestCa,
  type TestCertificateOptions,
  type TestCertificates,
  type TestKeyPair,
  issueTestCertificate,
  makeTestCertificates,
} from './tls.js';
export { testPemFiles } from './pem-files.js';
