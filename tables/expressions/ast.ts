// The syntax trees of DynamoDB expressions, after ExpressionAttributeNames and
// ExpressionAttributeValues have been substituted.
import type { AttributeValue } from '../values.ts';

/** A document path: attribute names and list indexes, outermost first. */
export interface PathNode {
  kind: 'path';
  elems: (string | number)[];
}
export interface ValueNode {
  kind: 'value';
  value: AttributeValue;
}
export interface SizeNode {
  kind: 'size';
  arg: Operand;
}
export type Operand = PathNode | ValueNode | SizeNode;

export type Comparator = '=' | '<>' | '<' | '<=' | '>' | '>=';

export type Condition =
  | { kind: 'compare'; op: Comparator; left: Operand; right: Operand }
  | { kind: 'between'; arg: Operand; low: Operand; high: Operand }
  | { kind: 'in'; arg: Operand; list: Operand[] }
  | { kind: 'and' | 'or'; left: Condition; right: Condition }
  | { kind: 'not'; arg: Condition }
  | { kind: 'attribute_exists' | 'attribute_not_exists'; path: PathNode }
  | { kind: 'attribute_type'; path: PathNode; type: Operand }
  | { kind: 'begins_with' | 'contains'; left: Operand; right: Operand };

export type UpdateOperand =
  | PathNode
  | ValueNode
  | { kind: 'if_not_exists'; path: PathNode; fallback: UpdateOperand }
  | { kind: 'list_append'; left: UpdateOperand; right: UpdateOperand }
  | { kind: '+' | '-'; left: UpdateOperand; right: UpdateOperand };

export interface UpdateExpression {
  set: { path: PathNode; value: UpdateOperand }[];
  remove: PathNode[];
  add: { path: PathNode; value: ValueNode }[];
  delete: { path: PathNode; value: ValueNode }[];
}
