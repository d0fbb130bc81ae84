namespace Custos.Core.Tests;

/// <summary>
/// A protobuf message as its top-level fields, each kept as its exact encoded bytes (tag included). Lets tests
/// build encodings the generated code never writes: fields out of order, duplicated, or with explicit defaults.
/// Only used on well-formed input.
/// </summary>
internal sealed record RawField(int Number, byte[] Encoded)
{
    public static List<RawField> Split(ReadOnlySpan<byte> message)
    {
        var fields = new List<RawField>();
        var position = 0;
        while (position < message.Length)
        {
            var start = position;
            var tag = ReadVarint(message, ref position);
            switch (tag & 7)
            {
                case 0:
                    ReadVarint(message, ref position);
                    break;
                case 1:
                    position += 8;
                    break;
                case 2:
                    var length = checked((int)ReadVarint(message, ref position));
                    position += length;
                    break;
                case 5:
                    position += 4;
                    break;
                default:
                    throw new ArgumentException($"wire type {tag & 7} is not used by Custos messages", nameof(message));
            }

            fields.Add(new RawField((int)(tag >> 3), message[start..position].ToArray()));
        }

        return fields;
    }

    public static byte[] Join(IEnumerable<RawField> fields) => fields.SelectMany(f => f.Encoded).ToArray();

    /// <summary>Adds <paramref name="field"/> where a canonical encoder would put it: before the first higher field number.</summary>
    public static byte[] InsertInOrder(ReadOnlySpan<byte> message, byte[] field)
    {
        var number = (int)(ReadVarint(field, 0) >> 3);
        var fields = Split(message);
        var index = fields.FindIndex(f => f.Number > number);
        fields.Insert(index < 0 ? fields.Count : index, new RawField(number, field));
        return Join(fields);
    }

    /// <summary>A varint field holding zero, which proto3 never writes: an explicit default.</summary>
    public static byte[] ExplicitZero(int number) => [.. Varint((ulong)number << 3), 0x00];

    public static byte[] Varint(ulong value)
    {
        var bytes = new List<byte>();
        while (value >= 0x80)
        {
            bytes.Add((byte)(value | 0x80));
            value >>= 7;
        }

        bytes.Add((byte)value);
        return [.. bytes];
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> bytes, int position) => ReadVarint(bytes, ref position);

    private static ulong ReadVarint(ReadOnlySpan<byte> bytes, ref int position)
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = bytes[position++];
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80) return value;
        }
    }
}
