/**
 * What the bigger catalogue and the new rules change for a reader of the routed covers: coins news names beyond the
 * top 350 are found, common words and namesakes are not, and market notation stays notation.
 */
import { describe, expect, it } from 'vitest';
import { loadCoinCatalogue } from '../../../src/cover/coins/catalogue.js';
import { createCoinDetector } from '../../../src/cover/coins/detect.js';

const catalogue = loadCoinCatalogue();
const detector = createCoinDetector(catalogue);
const coins = (title: string): string[] => detector.detect(title).map((c) => c.symbol).sort();

describe('the generated catalogue', () => {
  it('knows small and mid caps the news names, by name and by marked ticker', () => {
    expect(coins('Biswap Rolls Out V3 Pools on BNB Chain')).toEqual(['BNB', 'BSW']);
    expect(coins('Cartesi Launches Rollups Mainnet')).toEqual(['CTSI']);
    expect(coins('Ampleforth Rebases Lower as Demand Cools')).toEqual(['AMPL']);
    expect(coins('WazirX (WRX) Halts Withdrawals After $230M Hack')).toEqual(['WRX']);
    expect(coins('$HMSTR slides 20% after the airdrop')).toEqual(['HMSTR']);
  });

  it('records whether a name is an ordinary word, and such names need a coin noun or the ticker', () => {
    const threshold = catalogue.bySymbol('T');
    expect(threshold?.name_is_word).toBe(true);
    expect(catalogue.bySymbol('CTSI')?.name_is_word).toBeUndefined();
    expect(coins('Bitcoin Rally Hits Threshold for Record Inflows')).toEqual(['BTC']);
    expect(coins('Threshold token jumps 12% as tBTC supply grows')).toEqual(['T', 'TBTC']);
    expect(coins('Trust in a Decentralized Ecosystem')).toEqual([]);
  });

  it('keeps the big coins\u2019 phrases: a little-known coin named after one does not steal them', () => {
    expect(coins('Trump Signs Order Creating a Strategic Bitcoin Reserve')).toEqual(['BTC']);
  });
});

describe('disambiguation from context', () => {
  it('takes a common-word name that opens a title about a protocol event as the coin', () => {
    expect(coins('Harmony Loses $100M in Horizon Bridge Hack')).toEqual(['ONE']);
    expect(coins('Harmony Of Views At Davos On Stablecoins')).toEqual([]);
  });

  it('takes a common-word name right after what it is ("sidechain Plasma") as that project', () => {
    expect(coins('Stablecoin-Focused Bitcoin Sidechain Plasma Draws $373M in Token Sale')).toEqual(['BTC', 'XPL']);
    expect(coins('Plasma TV Sales Slump as Prices Fall')).toEqual([]);
  });

  it('does not take an animal, a person or a wallet product for the coin', () => {
    expect(coins('Kabosu, Shiba Inu Who Helped Define the Doge Meme, Dies at 18')).toEqual([]);
    expect(coins('Shiba Inu price jumps as SHIB burn rate soars')).toEqual(['SHIB']);
    expect(coins('Trust Wallet Users Lose $7M After Chrome Extension Hack')).toEqual([]);
    expect(coins('Justin Sun Buys $100M of TRUMP Memecoin')).toEqual(['TRUMP']);
  });

  it('reads tickers with a version suffix as the coin, and margin notation as no coin', () => {
    expect(coins('AAVEv3 Deployment Approved by Governance')).toEqual(['AAVE']);
    expect(coins('CRVv2 pools drained in exploit')).toEqual(['CRV']);
    expect(coins('Binance Launches USD-M Perpetual Contracts for ENA')).toEqual(['ENA']);
    expect(coins('Bybit lists USDT-M perps for PEPE')).toEqual(['PEPE']);
    expect(coins('BTC/USDT, ETH/USDT and SOL/USDT hit new highs')).toEqual(['BTC', 'ETH', 'SOL']);
  });

  it('finds a project\u2019s own new token by position, and drops former names in "(formerly ...)"', () => {
    expect(coins('Cardano Ecosystem Gets a Privacy Boost as Midnight\u2019s NIGHT Goes Live')).toEqual(['ADA', 'NIGHT']);
    expect(coins('Bhutan Debuts TER Gold-Backed Token on Solana')).toEqual(['SOL', 'TER']);
    expect(coins('The SEC\u2019s CEO Roundtable Draws Crowds')).toEqual([]);
    expect(coins('Sky (formerly MakerDAO) launches USDS rewards')).toEqual(['SKY', 'USDS']);
  });

  it('keeps stablecoins, staking and wrapped tokens apart from the coin they are built on', () => {
    expect(coins('Curve\u2019s crvUSD Depegs Briefly')).toEqual(['CRV', 'CRVUSD']);
    expect(coins('Kelp rsETH Exploit Drains $2M')).toEqual(['RSETH']);
    expect(coins('Lido Staked ETH (stETH) Sees Record Outflows')).toEqual(['STETH']);
    expect(coins('xAI Raises $6B as eBay Adds Payments')).toEqual([]);
  });
});
