import { createMemoryStores } from '../src/index.js';
import { storeContract } from './contract.js';

storeContract('memory twin', async () => createMemoryStores());
