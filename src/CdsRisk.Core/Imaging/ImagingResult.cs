namespace CdsRisk.Core.Imaging;

/// <summary>Why a volume or a study cannot be used.</summary>
public enum ImagingRefusalReason
{
    PhaseMissing,
    MixedOrientations,
    RepeatedPositions,
    UnevenSpacing,
    TooFewSlices,
    NotMR,
    OutsideWindow,
    UnreadablePixels,
    InconsistentGeometry,
    MissingGeometry,
    EmptyOrConstantVolume,
    ExcessiveNoise,
    TruncatedCoverage,
    ServerError,
    /// <summary>The server lists no MR series for the study (unknown study, or no MR in it).</summary>
    NoMrSeries,
    /// <summary>A series or the study is larger than this service reads (instances, bytes or series beyond a DicomWeb limit).</summary>
    TooLarge,
    /// <summary>A series the ImagingStudy lists that the DICOMweb server does not have (the server's own list is used instead).</summary>
    SeriesNotOnServer,
}

/// <summary>A refusal; <see cref="SeriesInstanceUid"/> and <see cref="TimePoint"/> name the volume when it concerns one.</summary>
public sealed record ImagingRefusal(ImagingRefusalReason Reason, string? SeriesInstanceUid, string? TimePoint, string Detail);

/// <summary>How a phase was recognised.</summary>
public enum PhaseIdentification
{
    /// <summary>A site keyword in the series description or protocol name.</summary>
    DescriptionKeyword,
    /// <summary>Acquisition time minus Contrast/Bolus Start Time fell in the phase's window.</summary>
    ContrastTiming,
    /// <summary>No contrast agent recorded and acquired first (non-contrast), or position in time order after it.</summary>
    TimeOrder,
}

public sealed record VolumeGeometry(
    int Rows,
    int Columns,
    double RowSpacingMm,
    double ColumnSpacingMm,
    double SliceSpacingMm,
    double CoverageMm,
    double[] Orientation,
    double[] FirstPosition);

/// <summary>One phase as found: its series (and time point inside a dynamic series), slice count, geometry and how it was identified.</summary>
public sealed record PhaseVolume(
    Phase Phase,
    string SeriesInstanceUid,
    string? SeriesDescription,
    string? TimePoint,
    int SliceCount,
    VolumeGeometry Geometry,
    PhaseIdentification IdentifiedBy,
    string IdentificationDetail);

/// <summary>
/// The outcome of assembling a study: the four phases and the model tensor [4, D, H, W] (phase order of <see cref="Phase"/>), or the refusals.
/// <see cref="SkippedVolumes"/> lists candidate volumes that were set aside (a refusal there is not fatal when another volume supplies the phase).
/// </summary>
public sealed record StudyImagingResult(
    IReadOnlyList<PhaseVolume> Phases,
    IReadOnlyList<ImagingRefusal> Refusals,
    IReadOnlyList<ImagingRefusal> SkippedVolumes,
    float[]? Tensor)
{
    public bool IsAccepted => Tensor is not null && Refusals.Count == 0;

    /// <summary>The DICOM Study Date (0008,0020) as the server reports it (QIDO-RS), else as the instances carry it.</summary>
    public DateOnly? StudyDate { get; init; }
}
