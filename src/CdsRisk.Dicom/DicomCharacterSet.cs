using System.Text;

namespace CdsRisk.Dicom;

/// <summary>
/// The decoder for Specific Character Set (0008,0005), PS3.5 §6.1. Supported: the default repertoire,
/// ISO_IR 100 (Latin-1) and ISO_IR 192 (UTF-8). Any other set keeps the raw bytes and reports itself unsupported.
/// </summary>
public sealed class DicomCharacterSet
{
    // The default repertoire is ASCII; Latin-1 decodes it identically and keeps stray high bytes lossless.
    public static readonly DicomCharacterSet Default = new("", Encoding.Latin1);

    private readonly Encoding? _encoding;

    private DicomCharacterSet(string name, Encoding? encoding)
    {
        Name = name;
        _encoding = encoding;
    }

    /// <summary>The defined terms as written in the data set, backslash-separated.</summary>
    public string Name { get; }

    public bool IsSupported => _encoding is not null;

    internal static DicomCharacterSet FromValue(ReadOnlySpan<byte> value)
    {
        var text = Encoding.Latin1.GetString(value).Trim(' ', '\0');
        Encoding? chosen = null;
        foreach (var raw in text.Split('\\'))
        {
            var term = raw.Trim();
            if (term is "" or "ISO_IR 6" or "ISO 2022 IR 6")
            {
                continue; // the default repertoire, a subset of both encodings below
            }

            Encoding? encoding = term switch
            {
                "ISO_IR 100" or "ISO 2022 IR 100" => Encoding.Latin1,
                "ISO_IR 192" => Encoding.UTF8,
                _ => null,
            };
            if (encoding is null || (chosen is not null && !ReferenceEquals(chosen, encoding)))
            {
                return new DicomCharacterSet(text, null); // unsupported, or code extensions mixing two sets
            }

            chosen = encoding;
        }

        return new DicomCharacterSet(text, chosen ?? Encoding.Latin1);
    }

    /// <summary>Decodes text of a VR that the character set applies to (SH, LO, ST, LT, PN, UC, UT).</summary>
    public string Decode(ReadOnlySpan<byte> bytes, DicomTag tag) =>
        _encoding is { } encoding
            ? encoding.GetString(bytes)
            : throw new DicomReadException(DicomReadError.UnsupportedCharacterSet, tag, -1,
                $"specific character set '{Name}' is not decoded; the value's bytes are kept");
}
