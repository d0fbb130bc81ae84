// The token example in AssemblyScript: the same ABI as contracts/examples/token.wat. Arguments of transfer and mint:
// 16-byte account id ++ 8-byte little-endian amount; balances under "b" ++ account.
import {
  ACCOUNT_BYTES, INSUFFICIENT_FUNDS, INVALID_ARGUMENTS, PERMISSION_DENIED, ROLE_SPECIAL_PRIVILEGE,
  caller, callerRole, event, fail, getU64, input, putU64,
} from "../sdk/custos";

function balanceKey(account: Uint8Array): Uint8Array {
  const key = new Uint8Array(1 + ACCOUNT_BYTES);
  key[0] = 0x62; // "b"
  key.set(account, 1);
  return key;
}

function readArguments(): Uint8Array {
  const args = input();
  if (args.length != ACCOUNT_BYTES + 8) fail(INVALID_ARGUMENTS, "arguments are 24 bytes: account (16) and amount (8)");
  if (load<u64>(args.dataStart + ACCOUNT_BYTES) == 0) fail(INVALID_ARGUMENTS, "amount must be positive");
  return args;
}

function credit(key: Uint8Array, amount: u64): void {
  const balance = getU64(key);
  if (balance + amount < balance) fail(INVALID_ARGUMENTS, "balance would overflow");
  putU64(key, balance + amount);
}

export function transfer(): void {
  const args = readArguments();
  const amount = load<u64>(args.dataStart + ACCOUNT_BYTES);
  const from = caller();
  const fromKey = balanceKey(from);
  const balance = getU64(fromKey);
  if (balance < amount) fail(INSUFFICIENT_FUNDS, "insufficient funds");
  putU64(fromKey, balance - amount);
  credit(balanceKey(args.subarray(0, ACCOUNT_BYTES)), amount);
  const data = new Uint8Array(2 * ACCOUNT_BYTES + 8);
  data.set(from, 0);
  data.set(args, ACCOUNT_BYTES);
  event("transfer", data);
}

export function mint(): void {
  if (callerRole() != ROLE_SPECIAL_PRIVILEGE) fail(PERMISSION_DENIED, "only a special-privilege account mints");
  const args = readArguments();
  credit(balanceKey(args.subarray(0, ACCOUNT_BYTES)), load<u64>(args.dataStart + ACCOUNT_BYTES));
  event("mint", args);
}
