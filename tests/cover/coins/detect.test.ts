import { describe, expect, it } from 'vitest';
import { loadCoinCatalogue } from '../../../src/cover/coins/catalogue.js';
import { createCoinDetector } from '../../../src/cover/coins/detect.js';

const detector = createCoinDetector(loadCoinCatalogue());

/** The detected symbols, sorted, for set comparisons. */
function coins(title: string, subtitle?: string): string[] {
  return detector
    .detect(title, subtitle)
    .map((c) => c.symbol)
    .sort();
}

/** The primary symbols in output order. */
function primary(title: string, subtitle?: string): string[] {
  return detector
    .detect(title, subtitle)
    .filter((c) => c.primary)
    .map((c) => c.symbol);
}

describe('createCoinDetector', () => {
  it('finds names, tickers, lower-case cashtags, possessives and several coins in one title', () => {
    expect(coins('Bitcoin Poised for Potential Price Surge')).toEqual(['BTC']);
    expect(coins('Tron Decentralization Gains Momentum, Will TRX Price Rally?')).toEqual(['TRX']);
    expect(coins('Earn $ada Cashback With New Card')).toEqual(['ADA']);
    expect(coins("Ethereum's Vitalik Buterin Proposes Upgrade")).toEqual(['ETH']);
    expect(coins('Solana’s DEX Volume Surges')).toEqual(['SOL']);
    expect(coins('Price predictions 2/6: BTC, ETH, BNB, XRP, SOL, DOGE, ADA, BCH, HYPE, XMR')).toEqual(
      ['ADA', 'BCH', 'BNB', 'BTC', 'DOGE', 'ETH', 'HYPE', 'SOL', 'XMR', 'XRP'],
    );
  });

  it('maps aliases to the coin: MATIC is POL, Ripple and XRPL are XRP, Tether is USDT', () => {
    expect(coins('Polygon hacked for over 800,000 MATIC')).toEqual(['POL']);
    expect(coins('Ripple CEO Speaks at Conference')).toEqual(['XRP']);
    expect(coins('XRPL AMM goes live')).toEqual(['XRP']);
    expect(coins('Tether Buys More Gold')).toEqual(['USDT']);
    expect(coins('Hyperliquid Launches Policy Center')).toEqual(['HYPE']);
    expect(coins('Trump-backed World Liberty Financial to Launch FX Remittance')).toEqual(['WLFI']);
    expect(coins("Ripple's RLUSD hits $1 billion supply")).toEqual(['RLUSD', 'XRP']);
  });

  it('ignores words that merely contain a ticker', () => {
    for (const title of [
      'Solution to Consolidation Found by Solomon and Solver',
      'Markets Fall Dramatically',
      'Polymarket Volume Hits Record',
      'Peter Thiel lost tens of millions in ETHZilla',
      'ETHDenver 2026 kicks off',
    ]) {
      expect(coins(title), title).toEqual([]);
    }
  });

  it('keeps coins apart from their look-alikes', () => {
    expect(coins('Ethereum Classic suffers a 51% attack')).toEqual(['ETC']);
    expect(coins('Bitcoin Cash Sets Multiple Records')).toEqual(['BCH']);
    expect(coins('Bitcoin Gold hit by double-spend')).toEqual(['BTG']);
    expect(coins('Tether Gold XAUT debuts tokenized dividends')).toEqual(['XAUT']);
    expect(coins('Ethena Price Slips: Will ENA Stabilize?')).toEqual(['ENA']);
    expect(coins('SushiSwap Drained of 1800 WETH')).toEqual(['SUSHI', 'WETH']);
    expect(coins('Poly Network Hack - $610 Million Stolen')).toEqual([]);
    expect(coins("BlackRock's BUIDL fund tops $2B")).toEqual([]);
  });

  it('does not count exchanges and companies, but counts their chains and the coins they touch', () => {
    expect(coins('Binance Has Nearly 250 Million Users, CEO Says')).toEqual([]);
    expect(coins('BNB Chain Gas Fees Drop')).toEqual(['BNB']);
    expect(coins('BSC Token Hub Hit By Bridge Hack')).toEqual(['BNB']);
    expect(coins('Binance Coin Surges')).toEqual(['BNB']);
    expect(coins("Circle's stock soars after IPO")).toEqual([]);
    expect(coins('Circle mints USDC on Solana')).toEqual(['SOL', 'USDC']);
    expect(coins('HTX Exchange Suffers $7.9 Million Breach')).toEqual([]);
    expect(coins('MicroStrategy Becomes Strategy, Invests $20B in Bitcoin')).toEqual(['BTC']);
    expect(coins('BTC-e operator extradited')).toEqual([]);
  });

  it('does not count quote currencies', () => {
    expect(coins('BNB Surpasses 660 USDT with a 6.40% Increase in 24 Hours')).toEqual(['BNB']);
    expect(coins('BTC/USDT, ETH/USDT and SOL/USDT see record volume')).toEqual(['BTC', 'ETH', 'SOL']);
    // Not a price: the stablecoin is the subject.
    expect(coins('USDC is set to dethrone USDT')).toEqual(['USDC', 'USDT']);
  });

  it('does not count people who share a coin name, only their memecoins', () => {
    expect(coins('President Trump Signs Tax Cuts')).toEqual([]);
    expect(coins("Eric Trump: 'Great Time to Buy $ETH'")).toEqual(['ETH']);
    expect(coins('Trump and Melania memecoins make push for payments')).toEqual(['MELANIA', 'TRUMP']);
    expect(coins('Official Trump (TRUMP) jumps 15%')).toEqual(['TRUMP']);
    expect(coins('Trump Media Buys CRO Tokens')).toEqual(['CRO']);
    expect(coins('Justin Sun proposes plan to drive Ethereum to $10,000')).toEqual(['ETH']);
  });

  it('does not count homographs of common-word tickers', () => {
    for (const title of [
      'Bitcoin has found or is near a bottom',
      'Wallets linked to the hack moved funds',
      'The hype around AI fades',
      'Whales bought tons of coins',
      'Crypto Slide Driven by Leverage, Bottom May Be Near',
      'Chart forms KEY pattern',
      'WHY Combinator backs new startup',
      'Atomic Wallet users lose $35M',
      'ONE thing to know today',
    ]) {
      expect(coins(title).filter((s) => s !== 'BTC'), title).toEqual([]);
    }
    expect(coins('Solana, Polygon, and NEAR Surge')).toEqual(['NEAR', 'POL', 'SOL']);
    expect(coins('Chainlink: Are investors buying amid LINK’s 12% drop?')).toEqual(['LINK']);
    expect(coins('Sonic (S) and Wormhole (W) listed')).toEqual(['S', 'W']);
    expect(coins('FTC users lose millions after a 51% attack')).toEqual(['FTC']);
    expect(coins('FTC sues crypto lender over marketing')).toEqual([]);
    expect(coins('Department of Government Efficiency (DOGE) cuts staff')).toEqual([]);
    expect(coins('DOGE cuts federal contracts')).toEqual([]);
    expect(coins('DOGE whales accumulate 1B coins')).toEqual(['DOGE']);
    expect(coins('BTC, ETH, DOGE slide')).toEqual(['BTC', 'DOGE', 'ETH']);
    expect(coins('External HTTP/S server and N/A values')).toEqual([]);
    expect(coins('S/USDT volume doubles')).toEqual(['S']);
  });

  it('needs context for names that are common words', () => {
    expect(coins("Optimism's OP token falls")).toEqual(['OP']);
    expect(coins('Optimism Returns to Markets')).toEqual([]);
    expect(coins('Why I am going big on Metal')).toEqual(['MTL']);
    expect(coins('Metal Prices Hit Record')).toEqual([]);
    expect(coins('Stellar (XLM) surges 20%')).toEqual(['XLM']);
    expect(coins('Stellar growth for the market in 2025')).toEqual([]);
    expect(coins('NASA probe reaches Jupiter')).toEqual([]);
    expect(coins('Top Crypto Gainers: Aster, Starknet, and Zcash')).toEqual(['ASTER', 'STRK', 'ZEC']);
  });

  it('handles HTML entities, odd spaces, line breaks, hashtags, Portuguese and Spanish', () => {
    expect(coins('Ethereum &amp; Solana lead gains')).toEqual(['ETH', 'SOL']);
    expect(coins('Cardano&#39;s founder speaks')).toEqual(['ADA']);
    expect(coins('Bitcoin\u00a0hits new\u202fhigh')).toEqual(['BTC']);
    expect(coins('RT @ETCisComing: Proof-of-Stake\n\n#EthereumClassic #ETCisComing')).toEqual(['ETC']);
    expect(coins('#XRPArmy celebrates ruling')).toEqual(['XRP']);
    expect(coins('Criador da Cardano admite ter perdido US$ 3 bilhões')).toEqual(['ADA']);
    expect(coins('La Bitcoin Lightning Network alcanza $1 mil millones')).toEqual(['BTC']);
    expect(coins('Preço do XRP dispara quase 20%')).toEqual(['XRP']);
  });

  it('reports coins it does not know from "Name (TICKER)" and cashtags, but not acronyms or stocks', () => {
    expect(detector.detect('Doodles (DOOD) rallies 40%')).toEqual([
      expect.objectContaining({ symbol: 'DOOD', name: 'Doodles', primary: true }),
    ]);
    expect(coins('$FOOBAR moons overnight')).toEqual(['FOOBAR']);
    expect(coins('Securities and Exchange Commission (SEC) delays decision')).toEqual([]);
    expect(coins('Bank of Japan (BOJ) raises rates')).toEqual([]);
    expect(coins('$COIN shares jump after earnings')).toEqual([]);
    expect(coins("Saylor's Strategy (MSTR) adds 10,000 BTC")).toEqual(['BTC']);
    expect(coins('Bitcoin Depot (BTM) reports earnings')).toEqual([]);
    // A new coin named after a known one is not a mention of the known one.
    expect(coins('Bitcoin Hyper (HYPER) presale raises $10M')).toEqual(['HYPER']);
    expect(coins('Solana memecoin Gorbagana (GOR) surges')).toEqual(['GOR', 'SOL']);
  });

  it('puts the primary coin first: the subject, its list, not its descriptor', () => {
    expect(primary('Bitcoin Reclaims $70K As XRP Rallies 20%')).toEqual(['BTC']);
    expect(detector.detect('Bitcoin Reclaims $70K As XRP Rallies 20%').map((c) => c.symbol)).toEqual(['BTC', 'XRP']);
    expect(primary('Bitcoin, Ether Hold Strong as Markets Wobble')).toEqual(['BTC', 'ETH']);
    expect(primary('Solana Meme Coin Dogwifhat Is Now Available')).toEqual(['WIF']);
    expect(primary("Ripple's RLUSD hits $1 billion")).toEqual(['RLUSD']);
    expect(primary('Litecoin Edges Closer to Monero, While Bitcoin Bites the Dust')).toEqual(['LTC']);
    expect(primary('Ripple prepares for an $800 million XRP dump, Bitcoin steady')).toEqual(['XRP']);
  });

  it('never makes subtitle-only coins primary unless the title has none', () => {
    const both = detector.detect('Bitcoin slides', 'Ether and Solana follow');
    expect(both.map((c) => [c.symbol, c.primary])).toEqual([
      ['BTC', true],
      ['ETH', false],
      ['SOL', false],
    ]);
    expect(primary('Markets slide on Friday', 'Solana leads the losses')).toEqual(['SOL']);
  });

  it('explains each detection', () => {
    const [eth] = detector.detect('Ethereum(ETH) Surpasses 3,200 USDT');
    expect(eth).toMatchObject({ symbol: 'ETH', name: 'Ethereum', primary: true });
    expect(eth?.evidence).toContain('"Ethereum"');
    expect(eth?.evidence).toContain('"(ETH)"');
    expect(eth?.evidence).toContain('primary');
    expect(detector.detect('Nothing about coins here')).toEqual([]);
  });
});
