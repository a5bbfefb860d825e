import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JsonFormatError } from '../../src/errors.js';
import { parsePythonJson, stringifyPythonJson } from '../../src/json/python-json.js';
import { pythonSuiteOptions, runPython } from '../support/python-zip.js';

/** Python's json module, the reader Inspect uses, applied to our output. */
function pythonLoads(json: string, expression: string): string {
  // stdin is decoded strictly: an unpaired surrogate in our UTF-8 would fail here.
  const script = `import json, math, sys\nd = json.loads(sys.stdin.buffer.read().decode('utf-8'))\nprint(${expression})`;
  return runPython(script, { input: Buffer.from(json, 'utf8') }).toString('utf8').trim();
}

function assertOneLineJsonError(text: string, label: string): JsonFormatError {
  let caught: unknown;
  assert.throws(
    () => parsePythonJson(text, label),
    (error: unknown) => {
      caught = error;
      return true;
    },
  );
  assert.ok(caught instanceof JsonFormatError, `expected JsonFormatError for ${JSON.stringify(text)}, got ${String(caught)}`);
  assert.equal(caught.code, 'JSON_FORMAT');
  assert.ok(caught.message.startsWith(`${label} is not valid JSON`), caught.message);
  assert.doesNotMatch(caught.message, /[\r\n]/, `message spans lines: ${JSON.stringify(caught.message)}`);
  assert.doesNotMatch(caught.message, /pyjson/, `message leaks the internal marker: ${caught.message}`);
  return caught;
}

describe('python-json: non-finite numbers', () => {
  it('parses bare NaN, Infinity and -Infinity tokens to numbers', () => {
    const value = parsePythonJson('{"a":NaN,"b":Infinity,"c":-Infinity,"d":[NaN,1.5,-Infinity],"e":{"f":Infinity}}') as {
      a: number;
      b: number;
      c: number;
      d: number[];
      e: { f: number };
    };
    assert.ok(Number.isNaN(value.a));
    assert.equal(value.b, Number.POSITIVE_INFINITY);
    assert.equal(value.c, Number.NEGATIVE_INFINITY);
    assert.deepEqual(value.d, [Number.NaN, 1.5, Number.NEGATIVE_INFINITY]);
    assert.equal(value.e.f, Number.POSITIVE_INFINITY);
  });

  it('parses top-level tokens', () => {
    assert.ok(Number.isNaN(parsePythonJson('NaN')));
    assert.equal(parsePythonJson('-Infinity'), Number.NEGATIVE_INFINITY);
    assert.equal(parsePythonJson(' Infinity '), Number.POSITIVE_INFINITY);
  });

  it('writes non-finite numbers back as bare tokens, not null', () => {
    const text = stringifyPythonJson({ a: Number.NaN, b: Number.POSITIVE_INFINITY, c: Number.NEGATIVE_INFINITY, d: [Number.NaN, 2] });
    assert.equal(text, '{"a":NaN,"b":Infinity,"c":-Infinity,"d":[NaN,2]}');
    assert.equal(stringifyPythonJson(Number.NaN), 'NaN');
    assert.equal(stringifyPythonJson([Number.NEGATIVE_INFINITY]), '[-Infinity]');
  });

  it('round-trips a document with tokens byte for byte', () => {
    const text = '{"scores":{"match":{"value":NaN,"answer":"NaN"}},"limits":[Infinity,-Infinity,0.5]}';
    assert.equal(stringifyPythonJson(parsePythonJson(text)), text);
  });

  it("is read back by Python's json.loads to the same values", { ...pythonSuiteOptions() }, () => {
    const text = stringifyPythonJson({ nan: Number.NaN, inf: Number.POSITIVE_INFINITY, ninf: Number.NEGATIVE_INFINITY, list: [Number.NaN, 1] });
    const checks = pythonLoads(
      text,
      "[math.isnan(d['nan']), d['inf'] == math.inf, d['ninf'] == -math.inf, math.isnan(d['list'][0]), d['list'][1] == 1, type(d['inf']).__name__]",
    );
    assert.equal(checks, "[True, True, True, True, True, 'float']");
    // Python writes the same tokens: its own dump of what it read equals our text.
    assert.equal(pythonLoads(text, "json.dumps(d, separators=(',', ':'))"), text);
  });
});

describe('python-json: the same words inside strings', () => {
  const text =
    '{"a":"NaN","b":"Infinity is far","c":"-Infinity","d":"x NaN y","e":"\\u0000pyjson:0123456789abcdef:NaN",' +
    '"f":"he said \\"NaN\\" then \\\\","g":"Infinity","h":NaN,"i":"12345678901234567890"}';

  it('leaves strings untouched while parsing the real tokens', () => {
    const value = parsePythonJson(text) as Record<string, unknown>;
    assert.equal(value.a, 'NaN');
    assert.equal(value.b, 'Infinity is far');
    assert.equal(value.c, '-Infinity');
    assert.equal(value.d, 'x NaN y');
    assert.equal(value.e, '\u0000pyjson:0123456789abcdef:NaN');
    assert.equal(value.f, 'he said "NaN" then \\');
    assert.equal(value.g, 'Infinity');
    assert.ok(Number.isNaN(value.h));
    assert.equal(value.i, '12345678901234567890');
  });

  it('writes the strings back as strings', () => {
    assert.equal(stringifyPythonJson(parsePythonJson(text)), text);
  });

  it('keeps a string that looks like the internal marker when written', () => {
    const value = { marker: '\u0000pyjson:0011223344556677:NaN', big: 12345678901234567890n };
    const written = stringifyPythonJson(value);
    assert.equal(written, '{"marker":"\\u0000pyjson:0011223344556677:NaN","big":12345678901234567890}');
    assert.deepEqual(parsePythonJson(written), value);
  });

  it('takes the fast path and the slow path to the same result', () => {
    // No 16-digit run: plain JSON.parse is tried first; with one, the token scanner runs.
    const plain = '{"s":"NaN","n":1}';
    const slow = '{"s":"NaN","n":1,"pad":"1234567890123456"}';
    assert.deepEqual(parsePythonJson(plain), { s: 'NaN', n: 1 });
    assert.deepEqual(parsePythonJson(slow), { s: 'NaN', n: 1, pad: '1234567890123456' });
  });
});

describe('python-json: big integers', () => {
  const text =
    '{"a":123456789012345678901234567890,"b":-9007199254740993,"c":9007199254740991,"d":[18446744073709551615,1],' +
    '"e":9007199254740993,"f":1.2345678901234567e+25,"g":12345678901234567.5}';

  it('parses integers beyond 2^53 as bigint, digit for digit', () => {
    const value = parsePythonJson(text) as Record<string, unknown>;
    assert.equal(value.a, 123456789012345678901234567890n);
    assert.equal(value.b, -9007199254740993n);
    assert.equal(value.c, 9007199254740991, 'a safe integer stays a number');
    assert.deepEqual(value.d, [18446744073709551615n, 1]);
    assert.equal(value.e, 9007199254740993n);
    assert.equal(typeof value.f, 'number', 'a float is not an integer');
    assert.equal(typeof value.g, 'number');
  });

  it('writes them back digit for digit', () => {
    const written = stringifyPythonJson(parsePythonJson(text));
    assert.match(written, /"a":123456789012345678901234567890,/);
    assert.match(written, /"b":-9007199254740993,/);
    assert.match(written, /"d":\[18446744073709551615,1\]/);
    assert.match(written, /"e":9007199254740993,/);
  });

  it("is read back by Python as the same integers", { ...pythonSuiteOptions() }, () => {
    const written = stringifyPythonJson({ a: 123456789012345678901234567890n, b: -9007199254740993n });
    assert.equal(pythonLoads(written, "[d['a'], d['b'], type(d['a']).__name__]"), "[123456789012345678901234567890, -9007199254740993, 'int']");
  });
});

describe('python-json: keys', () => {
  it('keeps unknown keys and their order', () => {
    const text =
      '{"zeta":1,"alpha":{"y":2,"x":3},"mid":[{"b":1,"a":2}],"unknown_future_field":{"k":null,"nested":{"z":[],"a":{}}},"version":2}';
    const value = parsePythonJson(text) as Record<string, unknown>;
    assert.deepEqual(Object.keys(value), ['zeta', 'alpha', 'mid', 'unknown_future_field', 'version']);
    assert.deepEqual(Object.keys(value.alpha as object), ['y', 'x']);
    assert.equal(stringifyPythonJson(value), text, 'null inside free dicts and empty containers are kept');
  });
});

describe('python-json: lone surrogates', () => {
  const value = { lone_low: 'a\udc00b', lone_high: '\ud800', pair: 'smile \ud83d\ude00', mixed: '\ud83d\ude00\ud83d', reversed: '\ude00\ud83d' };

  it('writes each unpaired surrogate as its 6-character escape text', () => {
    const written = stringifyPythonJson(value);
    assert.equal(
      written,
      '{"lone_low":"a\\\\udc00b","lone_high":"\\\\ud800","pair":"smile 😀","mixed":"😀\\\\ud83d","reversed":"\\\\ude00\\\\ud83d"}',
    );
    const back = parsePythonJson(written) as Record<string, string>;
    assert.equal(back.lone_low, 'a\\udc00b');
    assert.equal(back.lone_low!.length, 8, 'a + 6 characters + b');
    assert.equal(back.pair, 'smile \ud83d\ude00', 'a valid pair is kept as the character');
  });

  it('produces valid UTF-8', () => {
    const written = stringifyPythonJson(value);
    assert.doesNotMatch(written, /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
    const bytes = Buffer.from(written, 'utf8');
    assert.equal(new TextDecoder('utf-8', { fatal: true }).decode(bytes), written);
  });

  it("matches Inspect's own cleaning (encode with backslashreplace) in Python", { ...pythonSuiteOptions() }, () => {
    const written = stringifyPythonJson(value);
    // JSON.stringify escapes lone surrogates (\udXXX), so Python receives the original strings.
    const script = `import json, sys
raw, ours = sys.stdin.buffer.read().decode('utf-8').split('\\n', 1)
original = json.loads(raw)
cleaned = {k: v.encode('utf-8', errors='backslashreplace').decode('utf-8') for k, v in original.items()}
print(json.dumps(cleaned, ensure_ascii=False, separators=(',', ':')) == ours, json.loads(ours) == cleaned)`;
    const output = runPython(script, { input: Buffer.from(`${JSON.stringify(value)}\n${written}`, 'utf8') });
    assert.equal(output.toString('utf8').trim(), 'True True');
  });
});

describe('python-json: layout', () => {
  it('accepts pretty-printed documents (older Inspect logs)', () => {
    const pretty = [
      '{',
      '  "version": 2,',
      '  "status": "success",',
      '  "results": {',
      '    "scores": [',
      '      {',
      '        "value": NaN,',
      '        "big": 123456789012345678901',
      '      }',
      '    ],',
      '    "inf": -Infinity',
      '  }',
      '}',
      '',
    ].join('\n');
    const compact = '{"version":2,"status":"success","results":{"scores":[{"value":NaN,"big":123456789012345678901}],"inf":-Infinity}}';
    assert.deepEqual(parsePythonJson(pretty), parsePythonJson(compact));
    assert.equal(stringifyPythonJson(parsePythonJson(pretty)), compact);
  });

  it('accepts non-ASCII text written raw', () => {
    assert.deepEqual(parsePythonJson('{"q":"¿Qué? 日本語 😀"}'), { q: '¿Qué? 日本語 😀' });
    assert.equal(stringifyPythonJson({ q: '¿Qué? 日本語 😀' }), '{"q":"¿Qué? 日本語 😀"}');
  });
});

describe('python-json: malformed documents', () => {
  const cases: [string, string][] = [
    ['missing value', '{"a":}'],
    ['truncated', '{"a":[1,2'],
    ['empty', ''],
    ['only whitespace', '  \n  '],
    ['lowercase nan', '{"a":nan}'],
    ['token with trailing letters', '{"a":NaNx}'],
    ['truncated after a token (slow path)', '{"a":NaN,'],
    ['trailing garbage', '{"a":1} x'],
    ['single quotes', "{'a':1}"],
    ['leading zero on a big integer', '{"a":01234567890123456789}'],
    ['big integer then a syntax error', '{"a":12345678901234567890 "b":1}'],
    ['pretty-printed with an error', '{\n  "a": 1,\n  "b": [\n    NaN,\n    }\n}\n'],
    ['pretty-printed error after a marker', '{\n  "a": Infinity,\n  "b": 123456789012345678901,\n  "c": ]\n}'],
  ];
  for (const [what, text] of cases) {
    it(`rejects ${what} with a one-line JsonFormatError`, () => {
      assertOneLineJsonError(text, 'logs/x.eval: samples/1_epoch_1.json');
    });
  }

  it('uses a default label', () => {
    assert.match(assertOneLineJsonError('{', 'JSON document').message, /^JSON document is not valid JSON: /);
    assert.throws(() => parsePythonJson('{'), JsonFormatError);
  });

  it('refuses to write a value with no JSON representation', () => {
    assert.throws(() => stringifyPythonJson(undefined), JsonFormatError);
  });
});
