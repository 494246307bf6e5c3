using System.Text.RegularExpressions;
using CdsRisk.Core.Imaging;

namespace CdsRisk.Api.Scoring;

/// <summary>
/// Why a study could not be used, in the words a radiologist or surgeon uses: the phase or the problem, the series by its description
/// when known. No series or instance UIDs and no internal reason names (issue 14 section 4): those stay in the audit's phase list.
/// </summary>
public static partial class RefusalWords
{
    public static string Describe(ImagingRefusal r, IReadOnlyDictionary<string, string?> seriesDescriptions)
    {
        var series = r.SeriesInstanceUid is { } uid && seriesDescriptions.TryGetValue(uid, out var d) && !string.IsNullOrWhiteSpace(d)
            ? $"series '{d}'"
            : r.SeriesInstanceUid is null ? null : "one series";
        var what = r.Reason switch
        {
            ImagingRefusalReason.PhaseMissing => PhaseMissing().Match(r.Detail) is { Success: true } m
                ? $"{PhaseName(m.Groups[1].Value)} phase not found"
                : "a required phase was not found",
            ImagingRefusalReason.OutsideWindow => $"study acquired outside the protocol window ({r.Detail})",
            ImagingRefusalReason.NoMrSeries => "no MR series found on the image server for this study",
            ImagingRefusalReason.TooFewSlices => $"too few slices ({r.Detail})",
            ImagingRefusalReason.TruncatedCoverage => $"the liver is not fully covered ({r.Detail})",
            ImagingRefusalReason.MixedOrientations => "slices in mixed orientations",
            ImagingRefusalReason.RepeatedPositions => "repeated slice positions",
            ImagingRefusalReason.UnevenSpacing => $"uneven slice spacing ({r.Detail})",
            ImagingRefusalReason.NotMR => "not an MR series",
            ImagingRefusalReason.UnreadablePixels => "pixel data that cannot be read",
            ImagingRefusalReason.InconsistentGeometry => "slices of different geometry",
            ImagingRefusalReason.MissingGeometry => "slice position or spacing not recorded",
            ImagingRefusalReason.EmptyOrConstantVolume => "an empty image",
            ImagingRefusalReason.ExcessiveNoise => "an image dominated by noise",
            ImagingRefusalReason.ServerError => "the image server could not deliver it",
            // The detail names the DicomWeb limit; a leading "series <UID>: " is dropped (the series is named above).
            ImagingRefusalReason.TooLarge => $"more than this service reads ({SeriesPrefix().Replace(r.Detail, "")})",
            ImagingRefusalReason.SeriesNotOnServer => "not on the image server",
            _ => r.Reason.ToString(),
        };
        return series is null ? what : $"{series}: {what}";
    }

    /// <summary>"PortalVenous" → "portal venous".</summary>
    public static string PhaseName(string phase) => phase switch
    {
        nameof(Phase.NonContrast) => "non-contrast",
        nameof(Phase.Arterial) => "arterial",
        nameof(Phase.PortalVenous) => "portal venous",
        nameof(Phase.Delayed) => "delayed",
        _ => phase,
    };

    [GeneratedRegex(@"^no usable (\w+) volume", RegexOptions.CultureInvariant)]
    private static partial Regex PhaseMissing();

    [GeneratedRegex(@"^series [0-9.]+: ", RegexOptions.CultureInvariant)]
    private static partial Regex SeriesPrefix();
}
