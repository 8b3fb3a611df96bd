/**
 * Test helpers for other packages (`@sipedge/store/testing`): the contract every store adapter
 * must pass. Imports vitest, so import it from tests only.
 */
export { storeContract } from './contract.js';
