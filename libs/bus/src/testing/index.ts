/**
 * Test helpers for other packages (`@sipedge/bus/testing`): the contract every Bus adapter must
 * pass. Imports vitest, so import it from tests only.
 */
export { type BusOutage, type BusPair, busContract } from './contract.js';
