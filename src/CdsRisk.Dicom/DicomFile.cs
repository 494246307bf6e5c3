namespace CdsRisk.Dicom;

/// <summary>A parsed Part 10 file (or a bare data set without preamble and meta information).</summary>
public sealed class DicomFile
{
    internal DicomFile(bool hasPreamble, DicomDataset meta, DicomDataset dataset, string transferSyntaxUid, bool inferredTransferSyntax,
        ReadOnlyMemory<byte> source)
    {
        HasPreamble = hasPreamble;
        Meta = meta;
        Dataset = dataset;
        TransferSyntaxUid = transferSyntaxUid;
        TransferSyntaxInferred = inferredTransferSyntax;
        Source = source;
    }

    public bool HasPreamble { get; }

    /// <summary>File meta information (group 0002); empty when the file has none.</summary>
    public DicomDataset Meta { get; }

    public DicomDataset Dataset { get; }

    public string TransferSyntaxUid { get; }

    /// <summary>True when (0002,0010) was absent and the encoding was inferred from the first data element.</summary>
    public bool TransferSyntaxInferred { get; }

    /// <summary>True for Deflated Explicit VR Little Endian: element offsets then count in the inflated data set.</summary>
    public bool IsDeflated => TransferSyntaxUid == TransferSyntaxes.DeflatedExplicitVRLittleEndian;

    /// <summary>The bytes the data set's values refer to: the input, or the inflated data set.</summary>
    public ReadOnlyMemory<byte> Source { get; }
}

/// <summary>Transfer syntax UIDs (PS3.5 §10, Annex A).</summary>
public static class TransferSyntaxes
{
    public const string ImplicitVRLittleEndian = "1.2.840.10008.1.2";
    public const string ExplicitVRLittleEndian = "1.2.840.10008.1.2.1";
    public const string DeflatedExplicitVRLittleEndian = "1.2.840.10008.1.2.1.99";
    public const string ExplicitVRBigEndian = "1.2.840.10008.1.2.2";

    /// <summary>True for the transfer syntaxes whose pixel data is encapsulated (PS3.5 §A.4): JPEG family, RLE, MPEG, HEVC, HTJ2K, JPEG XL.</summary>
    public static bool IsEncapsulated(string uid) =>
        uid.StartsWith("1.2.840.10008.1.2.4.", StringComparison.Ordinal) || uid == "1.2.840.10008.1.2.5"
        || uid.StartsWith("1.2.840.10008.1.2.8.", StringComparison.Ordinal);
}

/// <summary>Limits that keep any input within bounded time and memory.</summary>
public sealed record DicomReaderOptions
{
    public static DicomReaderOptions Default { get; } = new();

    /// <summary>Deepest sequence nesting accepted (a top-level sequence is depth 1).</summary>
    public int MaxNestingDepth { get; init; } = 64;

    /// <summary>Absolute cap on the inflated size of a deflated data set.</summary>
    public long MaxInflatedBytes { get; init; } = 512L * 1024 * 1024;

    /// <summary>Cap relative to the deflated size (with a 64 KiB floor), against deflate bombs.</summary>
    public int MaxInflationRatio { get; init; } = 64;
}
