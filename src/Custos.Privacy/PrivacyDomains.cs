using System.Buffers.Binary;
using System.Text;

namespace Custos.Privacy;

/// <summary>
/// Domain prefixes for what privacy hashes and signs, in the style of <see cref="Core.SigningDomain"/>: ASCII
/// <c>custos/v1/&lt;name&gt;</c> and a zero byte, so a commitment can never equal another object's hash and an
/// envelope signature can never pass for a transaction's. Part of the format; frozen by tests.
/// </summary>
internal static class PrivacyDomains
{
    public static ReadOnlySpan<byte> Commitment => "custos/v1/privacy_commitment\0"u8;

    public static ReadOnlySpan<byte> EnvelopeSignature => "custos/v1/privacy_envelope\0"u8;

    public static ReadOnlySpan<byte> EnvelopeHash => "custos/v1/privacy_envelope_hash\0"u8;

    public static ReadOnlySpan<byte> EnvelopeAssociatedData => "custos/v1/privacy_envelope_ad\0"u8;

    public static ReadOnlySpan<byte> NodeDataKey => "custos/v1/privacy_node_data_key\0"u8;

    public static ReadOnlySpan<byte> RecordName => "custos/v1/privacy_record_name\0"u8;

    public static ReadOnlySpan<byte> RecordAssociatedData => "custos/v1/privacy_record_ad\0"u8;

    public static ReadOnlySpan<byte> AuditEntry => "custos/v1/privacy_audit_entry\0"u8;

    public static ReadOnlySpan<byte> AuditKey => "custos/v1/privacy_audit_key\0"u8;

    public static ReadOnlySpan<byte> ExportAssociatedData => "custos/v1/privacy_export_ad\0"u8;
}

/// <summary>Builds byte strings of length-prefixed fields, so that no two different field lists encode alike.</summary>
internal sealed class LengthPrefixedWriter
{
    private readonly MemoryStream _buffer = new();

    public LengthPrefixedWriter Add(ReadOnlySpan<byte> field)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, field.Length);
        _buffer.Write(length);
        _buffer.Write(field);
        return this;
    }

    /// <summary>Appends bytes without a length: only for a fixed prefix at the start.</summary>
    public LengthPrefixedWriter AddRaw(ReadOnlySpan<byte> bytes)
    {
        _buffer.Write(bytes);
        return this;
    }

    public LengthPrefixedWriter Add(string field) => Add(Encoding.UTF8.GetBytes(field));

    public LengthPrefixedWriter Add(ulong value)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, value);
        return Add(bytes);
    }

    public byte[] ToArray() => _buffer.ToArray();
}
