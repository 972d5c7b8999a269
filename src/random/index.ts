export { ChaChaRandom, chachaBlock, cryptoRandom, seededRandom } from './chacha.js';
