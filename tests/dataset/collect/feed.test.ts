import { describe, expect, it } from 'vitest';
import { parseFeed, plainTitle } from '../../../src/dataset/collect/feed.js';
import { decodeEntities, parseXml } from '../../../src/dataset/collect/xml.js';
import { decodeFeedBytes } from '../../../src/dataset/collect/sources.js';

describe('xml reader', () => {
  it('reads elements, attributes, CDATA, entities and namespaces', () => {
    const root = parseXml(`<?xml version="1.0"?>
<!-- a comment -->
<r xmlns:m="urn:m" a="1 &amp; 2">
  <t>Fish &amp; chips &#x263A; &#9731; &lt;b&gt;</t>
  <m:x url='u?a=1&amp;b=2'/>
  <c><![CDATA[<b>bold</b> & raw]]></c>
</r>`);
    expect(root.name).toBe('r');
    expect(root.attrs.a).toBe('1 & 2');
    const [t, x, c] = root.children;
    expect(t?.text).toBe('Fish & chips \u263a \u2603 <b>');
    expect(x).toMatchObject({ local: 'x', ns: 'urn:m', attrs: { url: 'u?a=1&b=2' } });
    expect(c?.text).toBe('<b>bold</b> & raw');
  });

  it('keeps text of nested elements in document order', () => {
    const root = parseXml('<title type="xhtml"><div>Bitcoin <b>soars</b> past $100k</div></title>');
    expect(root.allText).toBe('Bitcoin soars past $100k');
  });

  it('never expands entities declared in a DOCTYPE (no billion laughs)', () => {
    const doc = `<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]><r>&b;</r>`;
    expect(parseXml(doc).text).toBe('&b;');
  });

  it('refuses malformed documents with the line', () => {
    expect(() => parseXml('<a><b></a>')).toThrow(/<\/a> closes <b>/);
    expect(() => parseXml('<a>\n<b>')).toThrow(/never closed \(line 2\)/);
    expect(() => parseXml('<a x=1/>')).toThrow(/not quoted/);
    expect(() => parseXml('<a/><b/>')).toThrow(/second root/);
    expect(() => parseXml('<a x="1" x="2"/>')).toThrow(/repeated/);
    expect(() => parseXml('<a><![CDATA[x</a>')).toThrow(/unclosed CDATA/);
  });

  it('reads what sloppy feeds serve: a blank line before the declaration, lone ampersands, HTML entities', () => {
    const root = parseXml(`
<?xml version="1.0" encoding="UTF-8"?>
<rss><channel><item>
  <title>AT&T and R&D; Solana&nbsp;ETF &mdash; &unknown; <![CDATA[&amp; stays]]></title>
  <link>https://news.example/a?x=1&y=2</link>
  <!-- a comment with & in it -->
  <enclosure url="https://img.example/a.jpg?w=1&h=2" type="image/jpeg"/>
</item></channel></rss>`);
    const item = root.children[0]?.children[0];
    expect(item?.children[0]?.text).toBe('AT&T and R&D; Solana\u00a0ETF \u2014 &unknown; &amp; stays');
    expect(item?.children[1]?.text).toBe('https://news.example/a?x=1&y=2');
    expect(item?.children[2]?.attrs.url).toBe('https://img.example/a.jpg?w=1&h=2');
  });

  it('names the line of a mismatched close tag deep in a feed', () => {
    const feed = '<rss>\n<channel>\n<item>\n<title>One</title>\n<link>https://a.example/</item>\n</channel>\n</rss>';
    expect(() => parseXml(feed)).toThrow('The feed is not well-formed XML: </item> closes <link> (line 5).');
  });

  it('refuses documents nested too deep', () => {
    expect(() => parseXml('<a>'.repeat(100) + '</a>'.repeat(100))).toThrow(/deeper than 64/);
  });

  it('decodes only known entities and leaves stray ampersands', () => {
    expect(decodeEntities('AT&T &nbsp;x &unknown; &#0; &#65;')).toBe('AT&T \u00a0x &unknown; &#0; A');
  });

  it('decodes a feed in the encoding its declaration names', () => {
    const latin = Buffer.from('<?xml version="1.0" encoding="ISO-8859-1"?><r>caf\xe9</r>', 'latin1');
    expect(parseXml(decodeFeedBytes(latin)).text).toBe('café');
  });
});

describe('feed parsing', () => {
  it('RSS 2.0: enclosure first, then the widest media:content, then media:thumbnail; relative URLs resolved', () => {
    const rss = `<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>Desk</title>
      <item><title><![CDATA[Solana <em>ETF</em> inflows]]></title><link>https://news.example/a</link>
        <enclosure url="/img/a.jpg" type="image/jpeg" length="1"/>
        <media:content url="https://cdn.example/a-big.jpg" medium="image" width="1200"/></item>
      <item><title>Ether &amp; gas</title><link>https://news.example/b</link>
        <media:content url="https://cdn.example/b-small.jpg" medium="image" width="300"/>
        <media:content url="https://cdn.example/b-big.jpg" medium="image" width="1600"/>
        <media:content url="https://cdn.example/b.mp4" medium="video" width="4000"/></item>
      <item><title>Thumb only</title><link>https://news.example/c</link>
        <media:group><media:thumbnail url="https://cdn.example/c-thumb.jpg"/></media:group></item>
      <item><title>Podcast</title><enclosure url="https://x.example/p.mp3" type="audio/mpeg" length="1"/></item>
      <item><title>Bad scheme</title><enclosure url="javascript:alert(1)" type="image/png" length="1"/></item>
    </channel></rss>`;
    const f = parseFeed(rss, 'https://news.example/feed.xml');
    expect(f.format).toBe('rss');
    expect(f.title).toBe('Desk');
    expect(f.items.map((i) => [i.title, i.image, i.image_source])).toEqual([
      ['Solana ETF inflows', 'https://news.example/img/a.jpg', 'enclosure'],
      ['Ether & gas', 'https://cdn.example/b-big.jpg', 'media:content'],
      ['Thumb only', 'https://cdn.example/c-thumb.jpg', 'media:thumbnail'],
      ['Podcast', null, null],
      ['Bad scheme', null, null],
    ]);
  });

  it('Atom: enclosure links and media fields, html titles made plain', () => {
    const atom = `<feed xmlns="http://www.w3.org/2005/Atom" xmlns:m="http://search.yahoo.com/mrss/"><title type="html">Chain &lt;b&gt;News&lt;/b&gt;</title>
      <entry><title type="html">XRP &lt;i&gt;wavers&lt;/i&gt;</title><link href="https://n.example/x"/><link rel="enclosure" type="image/png" href="x.png"/></entry>
      <entry><title>Doge</title><link rel="alternate" href="https://n.example/d"/><m:thumbnail url="https://n.example/d.jpg"/></entry>
    </feed>`;
    const f = parseFeed(atom, 'https://n.example/atom');
    expect(f.format).toBe('atom');
    expect(f.title).toBe('Chain News');
    expect(f.items).toEqual([
      { title: 'XRP wavers', link: 'https://n.example/x', image: 'https://n.example/x.png', image_source: 'enclosure' },
      { title: 'Doge', link: 'https://n.example/d', image: 'https://n.example/d.jpg', image_source: 'media:thumbnail' },
    ]);
  });

  it('JSON Feed: image attachments, then image, then banner_image', () => {
    const json = JSON.stringify({
      version: 'https://jsonfeed.org/version/1.1',
      title: 'J',
      items: [
        { id: '1', title: 'A', url: 'https://j.example/a', image: 'https://j.example/a.jpg', attachments: [{ url: '/att.png', mime_type: 'image/png' }] },
        { id: '2', title: 'B', url: 'https://j.example/b', image: 'b.jpg' },
        { id: '3', title: 'C', banner_image: 'https://j.example/c.webp' },
        { id: '4', title: 'D' },
      ],
    });
    const f = parseFeed(json, 'https://j.example/feed.json');
    expect(f.items.map((i) => [i.image, i.image_source])).toEqual([
      ['https://j.example/att.png', 'enclosure'],
      ['https://j.example/b.jpg', 'image'],
      ['https://j.example/c.webp', 'banner_image'],
      [null, null],
    ]);
  });

  it('says what is wrong with documents that are not feeds', () => {
    expect(() => parseFeed('<html><body>hi</body></html>')).toThrow(/not a feed \(its root element is <html>\)/);
    expect(() => parseFeed('{"items": []}')).toThrow(/not a JSON Feed/);
    expect(() => parseFeed('<rss><item>')).toThrow(/not well-formed/);
  });

  it('plainTitle strips tags but keeps a lone "<"', () => {
    expect(plainTitle('BTC <b>up</b>  3% as  price < $100k')).toBe('BTC up 3% as price < $100k');
    // References inside CDATA (common in WordPress feeds) are decoded too.
    expect(plainTitle('Bitcoin&#8217;s rally &amp; Ether&#8217;s dip')).toBe('Bitcoin\u2019s rally & Ether\u2019s dip');
  });
});
