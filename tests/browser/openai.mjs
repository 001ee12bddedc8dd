// openai.mjs - the stock `openai` npm client (pinned in package-lock.json) against a running
// `frugal serve`, unchanged: chat completions (whole and streamed), embeddings when the
// collection has an embedder, models, and a 403 for another tenant's collection.
//
// Starts nothing: tests/api/run.sh runs it against its server with
//   FRUGAL_URL (http://127.0.0.1:PORT), FRUGAL_KEY (a key for FRUGAL_COLLECTION),
//   FRUGAL_OTHER_KEY (a key for FRUGAL_OTHER_COLLECTION only), FRUGAL_EXPECT_SOURCE (the
//   uploaded document the answer must cite), FRUGAL_QUESTION (optional); with
//   FRUGAL_EXPECT_GENERATED=1 (a server started with --generator, scripted by
//   tests/data/gen/fake_chat.py) also a streamed chat with frugal's "mode": "generate" whose
//   content arrives token by token.
// Prints "ok - what" / "not ok - what" and ends with "N passed, M failed"; exit 1 on a failure.
import OpenAI from 'openai';

const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) {
    console.error(`openai.mjs: set ${name}`);
    process.exit(2);
  }
  return v;
};
const baseURL = `${env('FRUGAL_URL')}/v1`;
const collection = env('FRUGAL_COLLECTION');
const other = env('FRUGAL_OTHER_COLLECTION');
const source = env('FRUGAL_EXPECT_SOURCE');
const question = env('FRUGAL_QUESTION', 'What do comets release near the sun?');
const client = new OpenAI({ baseURL, apiKey: env('FRUGAL_KEY'), maxRetries: 0, timeout: 30000 });
const otherClient = new OpenAI({ baseURL, apiKey: env('FRUGAL_OTHER_KEY'), maxRetries: 0, timeout: 30000 });

let passed = 0;
let failed = 0;
async function test(what, fn) {
  try {
    const r = await fn();
    if (r === 'skip') {
      console.log(`ok - ${what} # skip`);
    } else {
      console.log(`ok - ${what}`);
    }
    passed++;
  } catch (e) {
    console.log(`not ok - ${what}: ${e && e.stack ? e.stack : e}`);
    failed++;
  }
}
function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

const messages = [{ role: 'user', content: question }];

await test('chat.completions.create cites the uploaded document', async () => {
  const c = await client.chat.completions.create({ model: collection, messages });
  assert(c.object === 'chat.completion', `object ${c.object}`);
  const content = c.choices[0].message.content;
  assert(/\[1\]/.test(content), `no [1] in ${JSON.stringify(content)}`);
  assert(content.includes(source), `content does not name ${source}: ${JSON.stringify(content)}`);
  assert(c.choices[0].finish_reason === 'stop', `finish_reason ${c.choices[0].finish_reason}`);
  assert(Array.isArray(c.sources) && c.sources[0].source === source, `sources ${JSON.stringify(c.sources)}`);
  assert(c.usage && c.usage.total_tokens > 0, 'usage');
});

await test('chat.completions.create with stream: true streams chunks that cite it', async () => {
  const stream = await client.chat.completions.create({ model: collection, messages, stream: true });
  let text = '';
  let finish = null;
  let sources = null;
  let chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    assert(chunk.object === 'chat.completion.chunk', `object ${chunk.object}`);
    const ch = chunk.choices[0];
    text += ch.delta.content ?? '';
    if (ch.finish_reason) finish = ch.finish_reason;
    if (chunk.sources) sources = chunk.sources;
  }
  assert(chunks >= 2, `${chunks} chunks`);
  assert(finish === 'stop', `finish_reason ${finish}`);
  assert(/\[1\]/.test(text) && text.includes(source), `text ${JSON.stringify(text)}`);
  assert(sources && sources[0].source === source, `sources ${JSON.stringify(sources)}`);
});

if (process.env.FRUGAL_EXPECT_GENERATED) {
  await test('a generated answer streams token by token through the stock client', async () => {
    // "mode" is frugal's own field; the client sends unknown body fields as they are.
    const stream = await client.chat.completions.create({
      model: collection, stream: true, mode: 'generate',
      messages: [{ role: 'user', content: 'What is released by comets near the sun?' }],
    });
    let text = '';
    let contentChunks = 0;
    let last = null;
    for await (const chunk of stream) {
      const piece = chunk.choices[0].delta.content;
      if (piece) { contentChunks++; text += piece; }
      last = chunk;
    }
    assert(contentChunks >= 6, `${contentChunks} content chunks`);
    assert(text.startsWith('According to the sources'), `text ${JSON.stringify(text)}`);
    assert(last && last.route === 'generate', `route ${last && last.route}`);
    assert(last.usage && last.usage.completion_tokens === 20, `usage ${JSON.stringify(last.usage)}`);
  });
}

await test('a key for another collection gets APIError 403', async () => {
  try {
    await otherClient.chat.completions.create({ model: collection, messages });
  } catch (e) {
    assert(e instanceof OpenAI.APIError, `not an APIError: ${e}`);
    assert(e.status === 403, `status ${e.status}`);
    return;
  }
  throw new Error('no error');
});

await test('the streamed call with a key for another collection gets APIError 403', async () => {
  try {
    const s = await otherClient.chat.completions.create({ model: collection, messages, stream: true });
    for await (const _ of s) { /* drain */ }
  } catch (e) {
    assert(e instanceof OpenAI.APIError && e.status === 403, `got ${e}`);
    return;
  }
  throw new Error('no error');
});

await test('models.list shows the collection and not the other one', async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert(ids.includes(collection), `ids ${ids}`);
  assert(!ids.includes(other), `ids ${ids}`);
});

await test('embeddings.create (when the collection has an embedder)', async () => {
  try {
    const r = await client.embeddings.create({ model: collection, input: ['comets'] });
    assert(r.data.length === 1 && r.data[0].embedding.length > 0, 'an embedding');
  } catch (e) {
    if (e instanceof OpenAI.APIError && e.status === 400 && /no embedder/.test(e.message)) return 'skip';
    throw e;
  }
  return undefined;
});

await test('embeddings.create for another tenant\'s collection gets APIError 403', async () => {
  try {
    await client.embeddings.create({ model: other, input: 'x' });
  } catch (e) {
    assert(e instanceof OpenAI.APIError && e.status === 403, `got ${e}`);
    return;
  }
  throw new Error('no error');
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
