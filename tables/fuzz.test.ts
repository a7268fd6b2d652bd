// Property-based fuzzing of every action's input: thousands of malformed requests
// (wrong JSON types, missing and extra parameters, parameters of other actions,
// bad AttributeValues, empty and huge strings, random and half-valid expressions)
// go to a real server on sqlite. Every answer must be a 200 or a 400 with a typed
// `{__type, message}` body: never a 5xx, never a crash, and the service keeps
// answering. Validation runs before storage, so sqlite stands for both engines
// here. FUZZ_RUNS raises the count for a deep run, FUZZ_SEED replays a failure.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { actions } from './actions/index.ts';
import { startHarness, type Harness } from '../test/support/tables.ts';

const runs = Number(process.env.FUZZ_RUNS ?? 1000);
const seed = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);

// DynamoDB's request members per action, including actions that may not be
// registered yet; an action missing here gets every member of every action.
const members: Record<string, string[]> = {
  GetItem: [
    'TableName',
    'Key',
    'AttributesToGet',
    'ConsistentRead',
    'ReturnConsumedCapacity',
    'ProjectionExpression',
    'ExpressionAttributeNames',
  ],
  PutItem: [
    'TableName',
    'Item',
    'Expected',
    'ReturnValues',
    'ReturnConsumedCapacity',
    'ReturnItemCollectionMetrics',
    'ConditionalOperator',
    'ConditionExpression',
    'ExpressionAttributeNames',
    'ExpressionAttributeValues',
    'ReturnValuesOnConditionCheckFailure',
  ],
  DeleteItem: [
    'TableName',
    'Key',
    'Expected',
    'ConditionalOperator',
    'ReturnValues',
    'ReturnConsumedCapacity',
    'ReturnItemCollectionMetrics',
    'ConditionExpression',
    'ExpressionAttributeNames',
    'ExpressionAttributeValues',
    'ReturnValuesOnConditionCheckFailure',
  ],
  UpdateItem: [
    'TableName',
    'Key',
    'AttributeUpdates',
    'Expected',
    'ConditionalOperator',
    'ReturnValues',
    'ReturnConsumedCapacity',
    'ReturnItemCollectionMetrics',
    'UpdateExpression',
    'ConditionExpression',
    'ExpressionAttributeNames',
    'ExpressionAttributeValues',
    'ReturnValuesOnConditionCheckFailure',
  ],
  Query: [
    'TableName',
    'IndexName',
    'Select',
    'AttributesToGet',
    'Limit',
    'ConsistentRead',
    'KeyConditions',
    'QueryFilter',
    'ConditionalOperator',
    'ScanIndexForward',
    'ExclusiveStartKey',
    'ReturnConsumedCapacity',
    'ProjectionExpression',
    'FilterExpression',
    'KeyConditionExpression',
    'ExpressionAttributeNames',
    'ExpressionAttributeValues',
  ],
  Scan: [
    'TableName',
    'IndexName',
    'AttributesToGet',
    'Limit',
    'Select',
    'ScanFilter',
    'ConditionalOperator',
    'ExclusiveStartKey',
    'ReturnConsumedCapacity',
    'TotalSegments',
    'Segment',
    'ProjectionExpression',
    'FilterExpression',
    'ExpressionAttributeNames',
    'ExpressionAttributeValues',
    'ConsistentRead',
  ],
  BatchGetItem: ['RequestItems', 'ReturnConsumedCapacity'],
  BatchWriteItem: ['RequestItems', 'ReturnConsumedCapacity', 'ReturnItemCollectionMetrics'],
  CreateTable: [
    'AttributeDefinitions',
    'TableName',
    'KeySchema',
    'LocalSecondaryIndexes',
    'GlobalSecondaryIndexes',
    'BillingMode',
    'ProvisionedThroughput',
    'StreamSpecification',
    'SSESpecification',
    'Tags',
    'TableClass',
    'DeletionProtectionEnabled',
  ],
  DeleteTable: ['TableName'],
  DescribeTable: ['TableName'],
  DescribeTimeToLive: ['TableName'],
  UpdateTimeToLive: ['TableName', 'TimeToLiveSpecification'],
  UpdateTable: [
    'AttributeDefinitions',
    'TableName',
    'BillingMode',
    'ProvisionedThroughput',
    'GlobalSecondaryIndexUpdates',
    'StreamSpecification',
    'SSESpecification',
    'TableClass',
    'DeletionProtectionEnabled',
  ],
  ListTables: ['ExclusiveStartTableName', 'Limit'],
  TagResource: ['ResourceArn', 'Tags'],
  UntagResource: ['ResourceArn', 'TagKeys'],
  ListTagsOfResource: ['ResourceArn', 'NextToken'],
  TransactWriteItems: [
    'TransactItems',
    'ReturnConsumedCapacity',
    'ReturnItemCollectionMetrics',
    'ClientRequestToken',
  ],
  TransactGetItems: ['TransactItems', 'ReturnConsumedCapacity'],
  ExecuteStatement: [
    'Statement',
    'Parameters',
    'ConsistentRead',
    'NextToken',
    'ReturnConsumedCapacity',
    'Limit',
    'ReturnValuesOnConditionCheckFailure',
  ],
  BatchExecuteStatement: ['Statements', 'ReturnConsumedCapacity'],
  ExecuteTransaction: ['TransactStatements', 'ClientRequestToken', 'ReturnConsumedCapacity'],
};
const everyMember = [...new Set(Object.values(members).flat())];
/** The members DynamoDB requires: present in most generated requests. */
const required = new Set([
  'TableName',
  'Key',
  'Item',
  'KeyConditionExpression',
  'RequestItems',
  'AttributeDefinitions',
  'KeySchema',
  'ResourceArn',
  'Tags',
  'TagKeys',
  'TransactItems',
  'Statement',
  'Statements',
  'TransactStatements',
]);

const tables = ['fuzz_h', 'fuzz_hr'];
const tableArn = (name: string) => `arn:aws:dynamodb:us-east-1:000000000000:table/${name}`;

// ---- values

const huge = fc.constantFrom('x'.repeat(5000), 'é'.repeat(210_000));
const text = fc.oneof(
  { weight: 30, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 10, arbitrary: fc.constantFrom('', ' ', 'pk', 'sk', 'a', 'b', '\u0000', '😀', 'a.b') },
  { weight: 5, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 1, arbitrary: huge },
);
const wrongJson = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(null, true, false, 0, -1, 1.5, 2 ** 53, '', 'x', [], {}, [null], { S: 1 }),
);
const numberText = fc.oneof(
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
  fc.constantFrom(
    '',
    'abc',
    '1e126',
    '1e-131',
    '-0',
    '0.0',
    '1'.repeat(39),
    '+5',
    '.5',
    '5.',
    'NaN',
  ),
);
const base64 = fc.oneof(
  fc.uint8Array({ maxLength: 20 }).map((b) => Buffer.from(b).toString('base64')),
  fc.constantFrom('', 'AB==', 'A', '****', 'AAAA'),
  fc.constantFrom('', 'AAAA'),
  fc.constantFrom('', 'AAAA'),
);
const { av } = fc.letrec<{ av: unknown }>((tie) => ({
  av: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 4, arbitrary: text.map((S) => ({ S })) },
    { weight: 3, arbitrary: numberText.map((N) => ({ N })) },
    { weight: 1, arbitrary: base64.map((B) => ({ B })) },
    { weight: 1, arbitrary: fc.boolean().map((BOOL) => ({ BOOL })) },
    { weight: 1, arbitrary: fc.boolean().map((NULL) => ({ NULL })) },
    { weight: 1, arbitrary: fc.array(text, { maxLength: 3 }).map((SS) => ({ SS })) },
    { weight: 1, arbitrary: fc.array(numberText, { maxLength: 3 }).map((NS) => ({ NS })) },
    { weight: 1, arbitrary: fc.array(base64, { maxLength: 3 }).map((BS) => ({ BS })) },
    { weight: 1, arbitrary: fc.array(tie('av'), { maxLength: 3 }).map((L) => ({ L })) },
    {
      weight: 1,
      arbitrary: fc.dictionary(text, tie('av'), { maxKeys: 3 }).map((M) => ({ M })),
    },
    { weight: 1, arbitrary: fc.constantFrom({}, { S: 'a', N: '1' }, { X: 'y' }, { S: null }) },
  ),
}));
const attrName = fc.constantFrom('pk', 'sk', 'gk', 'a', 'b', 'l', 'm', 'set', '');
const keyish = fc.oneof(
  fc.record({ pk: av }, { requiredKeys: [] }),
  fc.record({ pk: av, sk: av }, { requiredKeys: [] }),
  fc.constantFrom({ pk: { S: 'p1' } }, { pk: { S: 'p1' }, sk: { N: '1' } }, { pk: { S: '' } }),
);
const attrMap = fc.oneof(keyish, fc.dictionary(attrName, av, { maxKeys: 4 }));
const item = fc.oneof(
  fc.tuple(keyish, fc.dictionary(attrName, av, { maxKeys: 3 })).map(([k, rest]) => ({
    ...rest,
    ...k,
  })),
  attrMap,
);

// ---- expressions: token soup and a small grammar of nearly valid ones

const path = fc.constantFrom(
  'pk',
  'sk',
  'a',
  'b',
  'm.x',
  'l[0]',
  'l[99]',
  '#n',
  '#m.#n',
  '#nope',
  'size',
);
const value = fc.constantFrom(':v', ':w', ':nope');
const tokens = fc.constantFrom(
  'pk',
  'a',
  '#n',
  ':v',
  ':w',
  '=',
  '<>',
  '<',
  '<=',
  '>',
  '>=',
  'AND',
  'OR',
  'NOT',
  'BETWEEN',
  'IN',
  '(',
  ')',
  ',',
  '+',
  '-',
  '.',
  '[',
  ']',
  '0',
  'SET',
  'REMOVE',
  'ADD',
  'DELETE',
  'if_not_exists',
  'list_append',
  'attribute_exists',
  'attribute_not_exists',
  'attribute_type',
  'begins_with',
  'contains',
  'size',
  'Select',
  'é',
  '"',
  ';',
);
const soup = fc.array(tokens, { maxLength: 12 }).map((t) => t.join(' '));
const { cond } = fc.letrec<{ cond: string }>((tie) => ({
  cond: fc.oneof(
    { depthSize: 'small' },
    fc
      .tuple(path, fc.constantFrom('=', '<>', '<', '>=', '<='), fc.oneof(value, path))
      .map((t) => t.join(' ')),
    fc.tuple(path, value, value).map(([p, a, b]) => `${p} BETWEEN ${a} AND ${b}`),
    fc
      .tuple(path, fc.array(value, { minLength: 1, maxLength: 3 }))
      .map(([p, vs]) => `${p} IN (${vs.join(', ')})`),
    fc
      .tuple(fc.constantFrom('attribute_exists', 'attribute_not_exists'), path)
      .map(([f, p]) => `${f}(${p})`),
    fc
      .tuple(fc.constantFrom('begins_with', 'contains', 'attribute_type'), path, value)
      .map(([f, p, v]) => `${f}(${p}, ${v})`),
    fc.tuple(path, value).map(([p, v]) => `size(${p}) > ${v}`),
    fc
      .tuple(tie('cond'), fc.constantFrom('AND', 'OR'), tie('cond'))
      .map(([a, op, b]) => `(${a}) ${op} ${b}`),
    tie('cond').map((c) => `NOT ${c}`),
  ),
}));
const operand = fc.oneof(
  value,
  path,
  fc.tuple(path, value).map(([p, v]) => `if_not_exists(${p}, ${v})`),
  fc.tuple(value, path).map(([v, p]) => `list_append(${v}, ${p})`),
);
const update = fc
  .array(
    fc.oneof(
      fc
        .tuple(path, operand, fc.option(fc.tuple(fc.constantFrom('+', '-'), operand)))
        .map(([p, o, more]) => `SET ${p} = ${o}${more ? ` ${more[0]} ${more[1]}` : ''}`),
      path.map((p) => `REMOVE ${p}`),
      fc.tuple(path, value).map(([p, v]) => `ADD ${p} ${v}`),
      fc.tuple(path, value).map(([p, v]) => `DELETE ${p} ${v}`),
    ),
    { minLength: 1, maxLength: 3 },
  )
  .map((clauses) => clauses.join(' '));
const projection = fc.array(path, { minLength: 1, maxLength: 4 }).map((p) => p.join(', '));
const expression = fc.oneof(
  { weight: 3, arbitrary: cond },
  { weight: 2, arbitrary: update },
  { weight: 1, arbitrary: projection },
  { weight: 2, arbitrary: soup },
  { weight: 1, arbitrary: text },
);

// ---- parameters

const tableName = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...tables) },
  { weight: 1, arbitrary: fc.constantFrom('fuzz_new', 'fuzz.other-1', 'ab', 'a;b', 'missing') },
  { weight: 1, arbitrary: text },
);
const oneOf = (...words: string[]) =>
  fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...words) }, { weight: 1, arbitrary: text });
const comparison = oneOf(
  'EQ',
  'NE',
  'LE',
  'LT',
  'GE',
  'GT',
  'NOT_NULL',
  'NULL',
  'CONTAINS',
  'NOT_CONTAINS',
  'BEGINS_WITH',
  'IN',
  'BETWEEN',
);
const conditions = fc.dictionary(
  attrName,
  fc.record(
    {
      ComparisonOperator: comparison,
      AttributeValueList: fc.array(av, { maxLength: 3 }),
      Exists: fc.boolean(),
      Value: av,
    },
    { requiredKeys: [] },
  ),
  { maxKeys: 3 },
);
const integer = fc.oneof(
  fc.integer({ min: -2, max: 30 }),
  fc.constantFrom(0, 1_000_000, 2 ** 31, 1.5, -0.5, 1e12 + 1),
);
const keySchema = fc.array(
  fc.record({ AttributeName: attrName, KeyType: oneOf('HASH', 'RANGE') }, { requiredKeys: [] }),
  { maxLength: 3 },
);
const attributeDefinitions = fc.array(
  fc.record({ AttributeName: attrName, AttributeType: oneOf('S', 'N', 'B') }, { requiredKeys: [] }),
  { maxLength: 4 },
);
const throughput = fc.record(
  { ReadCapacityUnits: integer, WriteCapacityUnits: integer },
  { requiredKeys: [] },
);
const projectionSpec = fc.record(
  {
    ProjectionType: oneOf('ALL', 'KEYS_ONLY', 'INCLUDE'),
    NonKeyAttributes: fc.array(attrName, { maxLength: 3 }),
  },
  { requiredKeys: [] },
);
const indexSpec = fc.record(
  {
    IndexName: oneOf('gsi', 'lsi', 'idx'),
    KeySchema: keySchema,
    Projection: projectionSpec,
    ProvisionedThroughput: throughput,
  },
  { requiredKeys: [] },
);
const tags = fc.array(fc.record({ Key: text, Value: text }, { requiredKeys: [] }), {
  maxLength: 3,
});
const names = fc.dictionary(fc.constantFrom('#n', '#m', '#x', 'n', '#'), attrName, { maxKeys: 3 });
const values = fc.dictionary(fc.constantFrom(':v', ':w', ':x', 'v', ':'), av, { maxKeys: 3 });
const projectionParams = {
  ProjectionExpression: projection,
  ExpressionAttributeNames: names,
  AttributesToGet: fc.array(attrName, { maxLength: 3 }),
  ConsistentRead: fc.boolean(),
};
const transactItem = fc.record(
  {
    Get: fc.record(
      { TableName: tableName, Key: keyish, ...projectionParams },
      { requiredKeys: [] },
    ),
    Put: fc.record(
      {
        TableName: tableName,
        Item: item,
        ConditionExpression: cond,
        ExpressionAttributeValues: values,
      },
      { requiredKeys: [] },
    ),
    Update: fc.record(
      {
        TableName: tableName,
        Key: keyish,
        UpdateExpression: update,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      },
      { requiredKeys: [] },
    ),
    Delete: fc.record({ TableName: tableName, Key: keyish }, { requiredKeys: [] }),
    ConditionCheck: fc.record(
      {
        TableName: tableName,
        Key: keyish,
        ConditionExpression: cond,
        ExpressionAttributeValues: values,
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: [] },
);
const statement = fc.oneof(
  fc.constantFrom(
    'SELECT * FROM fuzz_h',
    'SELECT * FROM "fuzz_hr" WHERE pk = ?',
    "INSERT INTO fuzz_h VALUE {'pk': ?}",
    "UPDATE fuzz_h SET a = 1 WHERE pk = 'p1'",
    "DELETE FROM fuzz_hr WHERE pk = 'p1' AND sk = 1",
    'SELECT',
  ),
  text,
);

const plausible: Record<string, fc.Arbitrary<unknown>> = {
  TableName: tableName,
  IndexName: oneOf('gsi', 'missing_index'),
  Key: keyish,
  Item: item,
  ExclusiveStartKey: attrMap,
  ExpressionAttributeValues: values,
  ExpressionAttributeNames: names,
  UpdateExpression: expression,
  ConditionExpression: expression,
  FilterExpression: expression,
  KeyConditionExpression: fc.oneof(
    fc.constantFrom('pk = :v', 'pk = :v AND sk > :w', 'pk = :v AND begins_with(sk, :w)'),
    expression,
  ),
  ProjectionExpression: expression,
  AttributesToGet: projectionParams.AttributesToGet,
  ConsistentRead: fc.oneof(
    { weight: 5, arbitrary: fc.boolean() },
    { weight: 1, arbitrary: fc.constantFrom('true', 'no', 'maybe') },
  ),
  ScanIndexForward: fc.boolean(),
  Select: oneOf('ALL_ATTRIBUTES', 'ALL_PROJECTED_ATTRIBUTES', 'SPECIFIC_ATTRIBUTES', 'COUNT'),
  Limit: integer,
  Segment: integer,
  TotalSegments: integer,
  ReturnValues: oneOf('NONE', 'ALL_OLD', 'UPDATED_OLD', 'ALL_NEW', 'UPDATED_NEW'),
  ReturnValuesOnConditionCheckFailure: oneOf('NONE', 'ALL_OLD'),
  ReturnConsumedCapacity: oneOf('NONE', 'TOTAL', 'INDEXES'),
  ReturnItemCollectionMetrics: oneOf('NONE', 'SIZE'),
  ConditionalOperator: oneOf('AND', 'OR'),
  Expected: conditions,
  KeyConditions: conditions,
  QueryFilter: conditions,
  ScanFilter: conditions,
  AttributeUpdates: fc.dictionary(
    attrName,
    fc.record({ Action: oneOf('PUT', 'ADD', 'DELETE'), Value: av }, { requiredKeys: [] }),
    { maxKeys: 3 },
  ),
  RequestItems: fc.dictionary(
    tableName,
    fc.oneof(
      fc.record(
        { Keys: fc.array(keyish, { maxLength: 4 }), ...projectionParams },
        { requiredKeys: [] },
      ),
      fc.array(
        fc.record(
          {
            PutRequest: fc.record({ Item: item }, { requiredKeys: [] }),
            DeleteRequest: fc.record({ Key: keyish }, { requiredKeys: [] }),
          },
          { requiredKeys: [] },
        ),
        { maxLength: 4 },
      ),
    ),
    { maxKeys: 2 },
  ),
  AttributeDefinitions: attributeDefinitions,
  KeySchema: keySchema,
  LocalSecondaryIndexes: fc.array(indexSpec, { maxLength: 2 }),
  GlobalSecondaryIndexes: fc.array(indexSpec, { maxLength: 2 }),
  GlobalSecondaryIndexUpdates: fc.array(
    fc.record(
      {
        Create: indexSpec,
        Delete: fc.record({ IndexName: oneOf('gsi') }, { requiredKeys: [] }),
        Update: fc.record(
          { IndexName: oneOf('gsi'), ProvisionedThroughput: throughput },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: [] },
    ),
    { maxLength: 2 },
  ),
  BillingMode: oneOf('PROVISIONED', 'PAY_PER_REQUEST'),
  ProvisionedThroughput: throughput,
  StreamSpecification: fc.record(
    { StreamEnabled: fc.boolean(), StreamViewType: oneOf('KEYS_ONLY', 'NEW_IMAGE') },
    { requiredKeys: [] },
  ),
  SSESpecification: fc.record({ Enabled: fc.boolean() }, { requiredKeys: [] }),
  TableClass: oneOf('STANDARD', 'STANDARD_INFREQUENT_ACCESS'),
  DeletionProtectionEnabled: fc.boolean(),
  TimeToLiveSpecification: fc.record(
    { Enabled: fc.boolean(), AttributeName: attrName },
    { requiredKeys: [] },
  ),
  Tags: tags,
  TagKeys: fc.array(text, { maxLength: 3 }),
  ResourceArn: fc.oneof(tableName.map(tableArn), text),
  ExclusiveStartTableName: tableName,
  NextToken: text,
  TransactItems: fc.array(transactItem, { maxLength: 4 }),
  ClientRequestToken: text,
  Statement: statement,
  Parameters: fc.array(av, { maxLength: 3 }),
  Statements: fc.array(
    fc.record(
      { Statement: statement, Parameters: fc.array(av, { maxLength: 2 }) },
      {
        requiredKeys: [],
      },
    ),
    { maxLength: 3 },
  ),
  TransactStatements: fc.array(
    fc.record(
      { Statement: statement, Parameters: fc.array(av, { maxLength: 2 }) },
      {
        requiredKeys: [],
      },
    ),
    { maxLength: 3 },
  ),
};

// A request is mostly plausible, so that it gets past the first checks and
// reaches the deeper ones; then at most one mutation makes it malformed: a member
// of the wrong JSON type, an AttributeValue of a wrong shape somewhere, or
// parameters of other actions (of any type) and names DynamoDB never heard of.
function requestFor(action: string): fc.Arbitrary<Record<string, unknown>> {
  const own = members[action] ?? everyMember;
  const present = (m: string) =>
    fc.oneof(
      { weight: required.has(m) ? 1 : 3, arbitrary: fc.constant(undefined) },
      { weight: required.has(m) ? 9 : 1, arbitrary: plausible[m] ?? wrongJson },
    );
  const body = fc
    .tuple(...own.map(present))
    .map((vs) => Object.fromEntries(vs.flatMap((v, i) => (v === undefined ? [] : [[own[i]!, v]]))));
  const mutation = fc.oneof(
    fc.constant(undefined),
    fc.tuple(fc.constantFrom(...own), wrongJson).map(([k, v]) => ({ [k]: v })),
    fc.dictionary(
      fc.oneof(fc.constantFrom(...everyMember), fc.string({ maxLength: 8 })),
      fc.oneof(plausible.UpdateExpression!, wrongJson, av),
      { minKeys: 1, maxKeys: 2 },
    ),
  );
  return fc
    .tuple(body, mutation, fc.boolean())
    .map(([b, m, over]) => (over ? { ...b, ...(m ?? {}) } : { ...(m ?? {}), ...b }));
}

const registered = Object.keys(actions);
const call = fc.oneof(
  ...registered.map((action) => requestFor(action).map((body) => ({ action, body }))),
);

let h: Harness;

async function send(action: string, body: unknown) {
  const res = await fetch(h.server.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': `DynamoDB_20120810.${action}`,
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

async function createFixtures(): Promise<void> {
  const exists = async (name: string) =>
    (await send('DescribeTable', { TableName: name })).status === 200;
  if (!(await exists('fuzz_h'))) {
    await send('CreateTable', {
      TableName: 'fuzz_h',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    });
  }
  if (!(await exists('fuzz_hr'))) {
    await send('CreateTable', {
      TableName: 'fuzz_hr',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'N' },
        { AttributeName: 'gk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'gsi',
          KeySchema: [{ AttributeName: 'gk', KeyType: 'HASH' }],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    });
  }
  const rich = {
    a: { N: '1' },
    b: { S: 'text' },
    gk: { S: 'g' },
    l: { L: [{ S: 'x' }, { N: '2' }] },
    m: { M: { x: { S: 'y' } } },
    set: { SS: ['a', 'b'] },
  };
  for (const pk of ['p1', 'p2']) {
    await send('PutItem', { TableName: 'fuzz_h', Item: { pk: { S: pk }, ...rich } });
    for (const sk of ['1', '2']) {
      await send('PutItem', {
        TableName: 'fuzz_hr',
        Item: { pk: { S: pk }, sk: { N: sk }, ...rich },
      });
    }
  }
}

before(async () => {
  h = await startHarness('sqlite');
  await createFixtures();
});
after(() => h.close());

test('malformed requests to every registered action answer 200 or a typed 400, never a 5xx', async () => {
  await fc.assert(
    fc.asyncProperty(call, async ({ action, body }) => {
      const { status, text: raw } = await send(action, body);
      if (status === 200) {
        if (action === 'DeleteTable') await createFixtures();
        return;
      }
      assert.equal(status, 400, `${action} answered ${status}: ${raw.slice(0, 300)}`);
      const err = JSON.parse(raw) as { __type?: unknown; message?: unknown };
      assert.equal(typeof err.__type, 'string', raw);
      assert.match(err.__type as string, /^com\.amazonaws\.dynamodb\.v20120810#[A-Za-z]+$/);
      assert.equal(typeof err.message, 'string', raw);
    }),
    { numRuns: runs, seed, endOnFailure: true },
  );
});

test('the service still answers well-formed requests after the fuzzing', async () => {
  await createFixtures();
  const got = await send('GetItem', { TableName: 'fuzz_h', Key: { pk: { S: 'p1' } } });
  assert.equal(got.status, 200, got.text);
  assert.equal((JSON.parse(got.text) as { Item: { b: unknown } }).Item.b !== undefined, true);
});
