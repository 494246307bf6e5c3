namespace CdsRisk.Core.Imaging;

/// <summary>
/// Site-configurable rules for finding the four phases and accepting their volumes. Bind from configuration section
/// <c>Imaging:PhaseRules</c> (the host does so) or construct in code.
/// </summary>
public sealed record PhaseRules
{
    /// <summary>Lower-case keywords matched against series description and protocol name; the first phase with a match wins, in the order
    /// delayed, portal venous, arterial, non-contrast (the later phases' words are more specific).</summary>
    public IReadOnlyList<string> NonContrastKeywords { get; init; } = ["pre", "precontrast", "pre-contrast", "non-contrast", "noncontrast", "native", "unenhanced", "mask"];
    public IReadOnlyList<string> ArterialKeywords { get; init; } = ["arterial", "art", "hap", "lap", "early"];
    public IReadOnlyList<string> PortalVenousKeywords { get; init; } = ["portal", "venous", "pvp", "pv"];
    // Not "late": "late arterial" is an arterial phase.
    public IReadOnlyList<string> DelayedKeywords { get; init; } = ["delayed", "delay", "equilibrium", "transitional", "3min", "3 min"];

    /// <summary>Seconds after Contrast/Bolus Start Time, inclusive ranges, for identification by contrast timing.</summary>
    public double ArterialMinSeconds { get; init; } = 10;
    public double ArterialMaxSeconds { get; init; } = 45;
    public double PortalVenousMinSeconds { get; init; } = 46;
    public double PortalVenousMaxSeconds { get; init; } = 100;
    public double DelayedMinSeconds { get; init; } = 101;
    public double DelayedMaxSeconds { get; init; } = 600;

    public int MinSlices { get; init; } = 16;

    /// <summary>Largest allowed deviation of one slice gap from the median gap, as a fraction of the median.</summary>
    public double SpacingTolerance { get; init; } = 0.1;

    /// <summary>Largest allowed difference between direction cosines of two slices of one volume.</summary>
    public double OrientationTolerance { get; init; } = 1e-3;

    /// <summary>Smallest extent along the slice normal (first to last slice centre), mm: less is truncated coverage of the liver.</summary>
    public double MinCoverageMm { get; init; } = 80;

    /// <summary>
    /// The study must be acquired at most this many days before the reference date and not after it. This is the protocol's MRI
    /// window: the service sets it from the protocol file (<c>mri.windowDays</c>, 31) for every job, so a value under
    /// <c>Imaging:PhaseRules</c> has no effect; the default here equals the bundled protocol's (a unit test keeps them equal).
    /// </summary>
    public int MaxStudyAgeDays { get; init; } = 31;

    /// <summary>A phase whose neighbouring-voxel differences have more spread than this fraction of its overall spread is noise-dominated
    /// (white noise gives about 1.41, anatomy far less).</summary>
    public double MaxNoiseRatio { get; init; } = 1.2;

    public static PhaseRules Default { get; } = new();
}
