// DynamoDB's exact words on the wire, each test naming the DynamoDB response it
// reproduces and where that response is recorded: dynalite's validation code and
// tests (run against live DynamoDB), moto's and Alternator's tests (written
// against real DynamoDB). The requests go as raw JSON, as an SDK would never
// send them. Validation runs before storage, so sqlite stands for both engines.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHarness, type Harness } from '../test/support/tables.ts';

let h: Harness;

interface Answer {
  __type?: string;
  message?: string;
  Count?: number;
}

async function send(action: string, body: unknown): Promise<{ status: number; body: Answer }> {
  const res = await fetch(h.server.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': `DynamoDB_20120810.${action}`,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Answer };
}

async function fails(action: string, body: unknown, type: string, message: string) {
  const r = await send(action, body);
  assert.equal(r.status, 400, JSON.stringify(r.body));
  assert.equal(r.body.__type, `com.amazonaws.dynamodb.v20120810#${type}`, r.body.message);
  assert.equal(r.body.message, message);
}

const serialization = (action: string, body: unknown, message: string) =>
  fails(action, body, 'SerializationException', message);
const validation = (action: string, body: unknown, message: string) =>
  fails(action, body, 'ValidationException', message);

before(async () => {
  h = await startHarness('sqlite');
  await send('CreateTable', {
    TableName: 'words',
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
  });
  await send('PutItem', { TableName: 'words', Item: { pk: { S: 'a' }, n: { N: '1' } } });
});
after(() => h.close());

describe('parameters DynamoDB does not know for an action', () => {
  test('a Scan carrying UpdateExpression or ConditionExpression of the wrong type succeeds: DynamoDB ignores them', async () => {
    for (const extra of [
      { UpdateExpression: { S: 1 } },
      { ConditionExpression: { N: 'abc' } },
      { Key: 7, Item: 'x' },
      { NoSuchParameter: [1, 2] },
    ]) {
      const r = await send('Scan', { TableName: 'words', ...extra });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.Count, 1);
    }
  });
});

describe('SerializationException: a JSON value of the wrong type, before any validation', () => {
  // dynalite validations/index.js checkTypes, and the type tests of its
  // test/helpers.js: the messages of DynamoDB's deserializer.
  test('a number for a string is "NUMBER_VALUE cannot be converted to String"', () =>
    serialization(
      'GetItem',
      { TableName: 1, Key: {} },
      'NUMBER_VALUE cannot be converted to String',
    ));

  test('a map for a string is "Start of structure or map found where not expected"', () =>
    serialization(
      'Scan',
      { TableName: 'words', FilterExpression: { S: 'a' } },
      'Start of structure or map found where not expected',
    ));

  test('a list for a string is "Unrecognized collection type class java.lang.String"', () =>
    serialization(
      'Scan',
      { TableName: ['words'] },
      'Unrecognized collection type class java.lang.String',
    ));

  test('a string for an integer is "STRING_VALUE cannot be converted to Integer"', () =>
    serialization(
      'Scan',
      { TableName: 'words', Limit: '5' },
      'STRING_VALUE cannot be converted to Integer',
    ));

  test('a word that is not a boolean is "Unexpected token received from parser"; "true" and "no" are booleans', async () => {
    await serialization(
      'Scan',
      { TableName: 'words', ConsistentRead: 'maybe' },
      'Unexpected token received from parser',
    );
    for (const word of ['true', 'no', 'YES', '0']) {
      assert.equal((await send('Scan', { TableName: 'words', ConsistentRead: word })).status, 200);
    }
  });

  test('a fractional Limit is truncated, as the deserializer reads it into an integer', async () => {
    await send('PutItem', { TableName: 'words', Item: { pk: { S: 'b' } } });
    const r = await send('Scan', { TableName: 'words', Limit: 1.9 });
    assert.equal(r.body.Count, 1);
    await send('DeleteItem', { TableName: 'words', Key: { pk: { S: 'b' } } });
  });

  test('an AttributeValue of the wrong type wins over a constraint error elsewhere', () =>
    serialization(
      'PutItem',
      { TableName: 'ab', Item: { pk: { S: 1 } } },
      'NUMBER_VALUE cannot be converted to String',
    ));

  test('the first bad member in the body is the one reported', async () => {
    await serialization(
      'PutItem',
      { Item: { pk: { BOOL: 'x' } }, TableName: 5 },
      'Unexpected token received from parser',
    );
    await serialization(
      'PutItem',
      { TableName: 5, Item: { pk: { BOOL: 'x' } } },
      'NUMBER_VALUE cannot be converted to String',
    );
  });

  test('a list element that is not a structure is "Unexpected value type in payload", a member "Unexpected field type"', async () => {
    await serialization(
      'BatchWriteItem',
      { RequestItems: { words: ['x'] } },
      'Unexpected value type in payload',
    );
    await serialization('PutItem', { TableName: 'words', Item: 5 }, 'Unexpected field type');
    await serialization(
      'PutItem',
      { TableName: 'words', Item: { pk: 'a' } },
      'Unexpected value type in payload',
    );
  });

  test('binary that is not canonical base64 is DynamoDB\'s (misspelt) "dectected" message', async () => {
    await serialization(
      'PutItem',
      { TableName: 'words', Item: { pk: { S: 'a' }, b: { B: 'AB==' } } },
      'Invalid last non-pad Base64 character dectected',
    );
    await serialization(
      'PutItem',
      { TableName: 'words', Item: { pk: { S: 'a' }, b: { B: 'abc' } } },
      'Base64 encoded length is expected a multiple of 4 bytes but found: 3',
    );
  });
});

describe('ValidationException: constraints, then the checks of the action', () => {
  test('a missing TableName on a table action is "The parameter \'TableName\' is required but was not present in the request"', async () => {
    // dynalite test/describeTable.js, deleteTable.js, updateTable.js, createTable.js.
    for (const action of ['DescribeTable', 'DeleteTable', 'DescribeTimeToLive']) {
      await validation(
        action,
        {},
        "The parameter 'TableName' is required but was not present in the request",
      );
      await validation(
        action,
        { TableName: 'ab' },
        'TableName must be at least 3 characters long and at most 255 characters long',
      );
      await validation(
        action,
        { TableName: 'a;b' },
        "1 validation error detected: Value 'a;b' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
      );
    }
  });

  test('item actions list every violated constraint: "2 validation errors detected: …; …"', () =>
    // dynalite test/getItem.js "should return ValidationException for no TableName".
    validation(
      'GetItem',
      {},
      "2 validation errors detected: Value null at 'tableName' failed to satisfy constraint: Member must not be null; Value null at 'key' failed to satisfy constraint: Member must not be null",
    ));

  test('more than 25 writes for one table is a Map value constraint on requestItems', async () => {
    // dynalite validations/batchWriteItem.js RequestItems.values.
    const r = await send('BatchWriteItem', { RequestItems: { words: [] } });
    assert.equal(
      r.body.message,
      `1 validation error detected: Value '{"words":[]}' at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 25, Member must have length greater than or equal to 1]`,
    );
  });

  test('a key of the wrong attribute or type is "The provided key element does not match the schema"', async () => {
    await validation(
      'GetItem',
      { TableName: 'words', Key: { pk: { N: '1' } } },
      'The provided key element does not match the schema',
    );
    await validation(
      'GetItem',
      { TableName: 'words', Key: { pk: { S: 'a' }, x: { S: 'b' } } },
      'The provided key element does not match the schema',
    );
  });

  test('setting a key attribute is "Cannot update attribute pk. This attribute is part of the key"', () =>
    validation(
      'UpdateItem',
      {
        TableName: 'words',
        Key: { pk: { S: 'a' } },
        UpdateExpression: 'SET pk = :v',
        ExpressionAttributeValues: { ':v': { S: 'x' } },
      },
      'Cannot update attribute pk. This attribute is part of the key',
    ));

  test('a trailing comma in SET is a syntax error at <EOF> near ","', () =>
    // moto tests/test_dynamodb/exceptions, recorded from DynamoDB.
    validation(
      'UpdateItem',
      {
        TableName: 'words',
        Key: { pk: { S: 'a' } },
        UpdateExpression: 'SET n = :v,',
        ExpressionAttributeValues: { ':v': { N: '2' } },
      },
      'Invalid UpdateExpression: Syntax error; token: "<EOF>", near: ","',
    ));

  test('an unclosed function call is a syntax error at <EOF> near "("', () =>
    validation(
      'Scan',
      { TableName: 'words', FilterExpression: 'attribute_not_exists(' },
      'Invalid FilterExpression: Syntax error; token: "<EOF>", near: "("',
    ));

  test('an unused value is named: "Value provided in ExpressionAttributeValues unused in expressions: keys: {:w}"', () =>
    validation(
      'Scan',
      {
        TableName: 'words',
        FilterExpression: 'n = :v',
        ExpressionAttributeValues: { ':v': { N: '1' }, ':w': { N: '2' } },
      },
      'Value provided in ExpressionAttributeValues unused in expressions: keys: {:w}',
    ));

  test("an empty key string is DynamoDB's current message, naming the key", () =>
    validation(
      'PutItem',
      { TableName: 'words', Item: { pk: { S: '' } } },
      'One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: pk',
    ));

  test('a null in a list is "Member must not be null" at its member path', () =>
    // Not recorded from DynamoDB: this service's answer, never a 500.
    validation(
      'Scan',
      { TableName: 'words', AttributesToGet: [null] },
      "1 validation error detected: Value null at 'attributesToGet.1.member' failed to satisfy constraint: Member must not be null",
    ));
});
