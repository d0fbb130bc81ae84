using Custos.Core;
using Custos.Core.Wire;
using Google.Protobuf;

namespace Custos.Consensus;

/// <summary>
/// A decoded, structurally valid block with its hash. Keeps the exact bytes it was decoded from, so that
/// it is stored and relayed as received. Immutable.
/// </summary>
public sealed class BlockRecord
{
    private BlockRecord(DecodedBlock decoded, Hash32 hash)
    {
        Decoded = decoded;
        Hash = hash;
        ParentHash = new Hash32(decoded.Header.ParentHash.Span);
    }

    public DecodedBlock Decoded { get; }

    public BlockHeader Header => Decoded.Header;

    /// <summary>The encoded <see cref="Block"/>.</summary>
    public ReadOnlyMemory<byte> Encoded => Decoded.Encoded;

    public ReadOnlyMemory<byte> HeaderBytes => Decoded.HeaderBytes;

    public Hash32 Hash { get; }

    public Hash32 ParentHash { get; }

    public ulong Epoch => Header.Epoch;

    public ulong Round => Header.Round;

    public ulong Height => Header.Height;

    public ulong TimestampMs => Header.TimestampMs;

    public static bool TryDecode(ReadOnlySpan<byte> encoded, IHashFunction hash, out BlockRecord block, out CustosError error)
    {
        block = null!;
        if (!Decoders.TryDecodeBlock(encoded, out var decoded, out error)) return false;
        block = new BlockRecord(decoded, decoded.ComputeHash(hash));
        return true;
    }

    /// <summary>
    /// A block made of an encoded header and transactions already decoded on this node (see
    /// <see cref="Decoders.TryAssembleBlock"/>): the same record <see cref="TryDecode"/> gives for its encoding.
    /// </summary>
    public static bool TryAssemble(ReadOnlySpan<byte> headerBytes, IReadOnlyList<Transaction> transactions, IHashFunction hash, out BlockRecord block, out CustosError error)
    {
        block = null!;
        if (!Decoders.TryAssembleBlock(headerBytes, transactions, out var decoded, out error)) return false;
        block = new BlockRecord(decoded, decoded.ComputeHash(hash));
        return true;
    }

    public static BlockRecord Decode(ReadOnlySpan<byte> encoded, IHashFunction hash) =>
        TryDecode(encoded, hash, out var block, out var error) ? block : throw error.ToException();

    public static Hash32 HashOfHeader(IHashFunction hash, ReadOnlySpan<byte> headerBytes) => hash.HashObject(ObjectType.BlockHeader, headerBytes);

    public ByteString HeaderByteString => UnsafeByteOperations.UnsafeWrap(HeaderBytes);

    public override string ToString() => $"block {Hash.ToShortString()} (epoch {Epoch}, round {Round}, height {Height})";
}

/// <summary>
/// A block on the ledger with what proves it: <see cref="Qc"/> certifies this block, and <see cref="CommitQc"/>
/// certifies a descendant whose parent is this block or one above it with consecutive rounds (the two-chain rule).
/// Both are absent only for the genesis block; <see cref="CommitQc"/> alone is absent for a root rebuilt from an
/// epoch-ending proof's root certificate.
/// </summary>
public sealed record CommittedBlock(BlockRecord Block, QuorumCertificate? Qc, QuorumCertificate? CommitQc)
{
    public ulong Height => Block.Height;

    public Hash32 Hash => Block.Hash;
}
