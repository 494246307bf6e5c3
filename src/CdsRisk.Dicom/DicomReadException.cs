namespace CdsRisk.Dicom;

/// <summary>Why the reader refused an input or a value.</summary>
public enum DicomReadError
{
    /// <summary>Neither a Part 10 preamble nor a plausible first data element.</summary>
    NotDicom,
    /// <summary>The input ends inside a header or before a sequence or item delimiter.</summary>
    Truncated,
    /// <summary>A value length points past the end of its container.</summary>
    LengthPastEnd,
    /// <summary>Explicit VR Big Endian (retired, PS3.5 §A.3): ask the server for Explicit VR Little Endian.</summary>
    BigEndian,
    /// <summary>A transfer syntax this reader does not know.</summary>
    UnsupportedTransferSyntax,
    /// <summary>Encapsulated (compressed) pixel data: ask the server to transcode to Explicit VR Little Endian.</summary>
    EncapsulatedPixelData,
    /// <summary>An explicit VR that PS3.5 does not define.</summary>
    InvalidVR,
    /// <summary>Undefined length on an element that may not have one, or a delimiter out of place.</summary>
    InvalidStructure,
    /// <summary>Sequences nested deeper than the configured limit.</summary>
    NestingTooDeep,
    /// <summary>The deflated data set is not valid raw DEFLATE.</summary>
    InvalidDeflate,
    /// <summary>The deflated data set inflates past the configured limit.</summary>
    InflatedTooLarge,
    /// <summary>A value that cannot be read as its VR says (for example DS "1A").</summary>
    InvalidValue,
    /// <summary>A specific character set this reader does not decode; the bytes stay available.</summary>
    UnsupportedCharacterSet,
    /// <summary>Pixel data this reader cannot decode (bits allocated, samples per pixel, missing attributes, too short).</summary>
    UnsupportedPixelData,
    /// <summary>A required attribute is absent.</summary>
    MissingAttribute,
}

/// <summary>The one exception type the DICOM reader throws, for any input.</summary>
public sealed class DicomReadException : Exception
{
    public DicomReadException(DicomReadError reason, DicomTag? tag, long offset, string detail)
        : base(Format(reason, tag, offset, detail))
    {
        Reason = reason;
        Tag = tag;
        Offset = offset;
        Detail = detail;
    }

    public DicomReadException(DicomReadError reason, DicomTag? tag, long offset, string detail, Exception inner)
        : base(Format(reason, tag, offset, detail), inner)
    {
        Reason = reason;
        Tag = tag;
        Offset = offset;
        Detail = detail;
    }

    public DicomReadError Reason { get; }

    /// <summary>The element being read, when the error belongs to one.</summary>
    public DicomTag? Tag { get; }

    /// <summary>Byte offset in the input (in the inflated data set for deflated files); -1 when not applicable.</summary>
    public long Offset { get; }

    public string Detail { get; }

    private static string Format(DicomReadError reason, DicomTag? tag, long offset, string detail) =>
        $"{reason}{(tag is { } t ? " at " + t : "")}{(offset >= 0 ? $" offset {offset}" : "")}: {detail}";
}
