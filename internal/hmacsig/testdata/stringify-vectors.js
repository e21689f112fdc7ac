// Makes stringify-vectors.json: for each body, what JSON.stringify(JSON.parse(body))
// writes in Node, the serialization Akute's and CareValidate's verifiers sign.
//   node internal/hmacsig/testdata/stringify-vectors.js > internal/hmacsig/testdata/stringify-vectors.json
const bodies = [
  '{"event":"task.updated","data":{"id":"t-1","status":"complete"}}',
  '{ "event" : "task.updated" ,\n  "data" : { "id" : "t-1" } }',
  '{"name":"Ren\\u00e9e","city":"Montr\\u00E9al"}',
  '{"url":"https:\\/\\/example.com\\/a"}',
  '{"a":1.0,"b":1e2,"c":1E21,"d":1e-7,"e":0.000001,"f":-0,"g":1.50,"h":100e-2}',
  '{"big":123456789012345678901234,"max":1.7976931348623157e308,"min":5e-324,"over":1e400,"under":1e-400}',
  '{"unsafe":9007199254740993,"tenth":0.1,"sum":0.30000000000000004,"neg":-1.25e-10,"e20":1e20,"e21":1e21}',
  '{"b":1,"a":2,"10":3,"2":4,"01":5,"-1":6,"1.5":7,"4294967294":8,"4294967295":9}',
  '{"a":1,"b":2,"a":3}',
  '{"x":{"k":1},"x":{"j":2}}',
  '{"lone":"\\ud800","pair":"\\ud83d\\ude00","low":"\\udc00x","emoji":"😀"}',
  '{"ls":"\\u2028\\u2029","ctl":"\\u0001\\u001f\\u007f","tab":"\\t","nl":"a\\nb","bs":"\\b\\f\\r"}',
  '{"html":"<script>&amp;</script>","quote":"say \\"hi\\"","slash":"\\\\"}',
  '[1,"two",true,false,null,{"three":[3]},[]]',
  '{"empty":{},"list":[],"s":""}',
  '"just a string"',
  '42',
  '{"caseId":"c-1","amount":"350","activity":{"id":"a1","timestamp":"2026-11-01T10:00:00.000Z","valueAfter":null}}',
  '{"é":1,"e":2,"\\u00e9":3}',
  '{"__proto__":{"polluted":true},"constructor":1}',
];
console.log(JSON.stringify(bodies.map((input) => ({ input, output: JSON.stringify(JSON.parse(input)) })), null, 1));
