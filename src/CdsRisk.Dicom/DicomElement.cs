using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace CdsRisk.Dicom;

/// <summary>One data element. <see cref="Value"/> is a slice of the reader's input (never a copy), empty for sequences.</summary>
public sealed class DicomElement
{
    internal DicomElement(DicomTag tag, DicomVR vr, long offset, ReadOnlyMemory<byte> value, IReadOnlyList<DicomDataset>? items)
    {
        Tag = tag;
        VR = vr;
        Offset = offset;
        Value = value;
        Items = items ?? [];
    }

    public DicomTag Tag { get; }

    public DicomVR VR { get; }

    /// <summary>Offset of the element's tag in the input (in the inflated data set for deflated files).</summary>
    public long Offset { get; }

    public ReadOnlyMemory<byte> Value { get; }

    /// <summary>The items of a sequence (SQ); empty otherwise.</summary>
    public IReadOnlyList<DicomDataset> Items { get; }

    public int Length => Value.Length;

    /// <summary>
    /// The values of a string VR, split at backslashes (except LT, ST, UT, UR, which are single-valued), with the padding
    /// that PS3.5 §6.2 calls insignificant removed. An empty value yields an empty array.
    /// </summary>
    public string[] GetStrings(DicomCharacterSet characterSet)
    {
        var kind = VR.Kind;
        var bytes = Value.Span;
        string text = kind switch
        {
            DicomVRKind.AsciiString or DicomVRKind.Uri => Encoding.Latin1.GetString(bytes),
            DicomVRKind.TextString or DicomVRKind.Text => characterSet.Decode(bytes, Tag),
            _ => throw Invalid($"VR {VR} is not a string VR"),
        };
        if (kind is DicomVRKind.Text or DicomVRKind.Uri)
        {
            var single = text.TrimEnd(' ', '\0');
            return single.Length == 0 ? [] : [single];
        }

        if (text.AsSpan().Trim(" \0").IsEmpty)
        {
            return [];
        }

        var parts = text.Split('\\');
        for (var i = 0; i < parts.Length; i++)
        {
            parts[i] = parts[i].Trim(' ', '\0');
        }

        return parts;
    }

    /// <summary>The numeric values of US, SS, UL, SL, SV, UV, FL, FD, IS and DS; an empty IS/DS value is skipped.</summary>
    public double[] GetNumbers()
    {
        var span = Value.Span;
        var size = VR.ValueSize;
        if (VR == DicomVR.IS || VR == DicomVR.DS)
        {
            var text = Encoding.Latin1.GetString(span).Trim(' ', '\0');
            if (text.Length == 0)
            {
                return [];
            }

            var parts = text.Split('\\');
            var numbers = new double[parts.Length];
            for (var i = 0; i < parts.Length; i++)
            {
                numbers[i] = ParseDecimal(parts[i].Trim(), VR == DicomVR.IS);
            }

            return numbers;
        }

        if (size == 0 || VR == DicomVR.AT)
        {
            throw Invalid($"VR {VR} is not numeric");
        }

        if (span.Length % size != 0)
        {
            throw Invalid($"length {span.Length} is not a multiple of {size}");
        }

        var result = new double[span.Length / size];
        var vr = VR.ToString();
        for (var i = 0; i < result.Length; i++)
        {
            var v = span.Slice(i * size, size);
            result[i] = vr switch
            {
                "US" => BinaryPrimitives.ReadUInt16LittleEndian(v),
                "SS" => BinaryPrimitives.ReadInt16LittleEndian(v),
                "UL" => BinaryPrimitives.ReadUInt32LittleEndian(v),
                "SL" => BinaryPrimitives.ReadInt32LittleEndian(v),
                "FL" => BinaryPrimitives.ReadSingleLittleEndian(v),
                "FD" => BinaryPrimitives.ReadDoubleLittleEndian(v),
                "SV" => BinaryPrimitives.ReadInt64LittleEndian(v),
                _ => BinaryPrimitives.ReadUInt64LittleEndian(v),
            };
        }

        return result;
    }

    /// <summary>The tags of an AT value.</summary>
    public DicomTag[] GetTags()
    {
        var span = Value.Span;
        if (VR != DicomVR.AT || span.Length % 4 != 0)
        {
            throw Invalid("not a valid AT value");
        }

        var tags = new DicomTag[span.Length / 4];
        for (var i = 0; i < tags.Length; i++)
        {
            tags[i] = new DicomTag(BinaryPrimitives.ReadUInt16LittleEndian(span[(i * 4)..]),
                BinaryPrimitives.ReadUInt16LittleEndian(span[(i * 4 + 2)..]));
        }

        return tags;
    }

    private double ParseDecimal(string text, bool integer)
    {
        if (integer)
        {
            return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i)
                ? i
                : throw Invalid($"'{Truncate(text)}' is not an integer string");
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d)
            ? d
            : throw Invalid($"'{Truncate(text)}' is not a decimal string");
    }

    private static string Truncate(string text) => text.Length <= 32 ? text : text[..32] + "…";

    private DicomReadException Invalid(string detail) => new(DicomReadError.InvalidValue, Tag, Offset, detail);

    public override string ToString() => $"{Tag} {VR} length {Value.Length}";
}
