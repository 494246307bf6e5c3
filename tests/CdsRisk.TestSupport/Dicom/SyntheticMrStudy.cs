using System.Globalization;

namespace CdsRisk.Dicom.Synthetic;

/// <summary>How the phases of a synthetic study are stored.</summary>
public enum SyntheticLayout
{
    /// <summary>One series per phase, each with its own description.</summary>
    SeparateSeries,
    /// <summary>One dynamic series: all phases share the series and differ in Temporal Position Identifier.</summary>
    DynamicSeries,
}

/// <summary>
/// Generates a synthetic 4-phase liver MR study as Part 10 files (Explicit VR LE, 16-bit unsigned) for tests, benchmarks and demos:
/// an ellipsoidal "liver" with a lesion whose enhancement follows the phase (bright arterial, washout later). Deterministic per seed.
/// </summary>
public sealed record SyntheticMrStudy
{
    public const string MrImageStorage = "1.2.840.10008.5.1.4.1.1.4";
    private static readonly string[] Descriptions = ["T1 VIBE PRE", "T1 VIBE ARTERIAL", "T1 VIBE PORTAL VENOUS", "T1 VIBE DELAYED 3MIN"];
    private static readonly int[] DelaySeconds = [-60, 30, 70, 180];

    public string StudyInstanceUid { get; init; } = "1.2.826.0.1.3680043.10.1437.100.1";
    public string PatientId { get; init; } = "SYNTH-001";
    public SyntheticLayout Layout { get; init; } = SyntheticLayout.SeparateSeries;
    public int Rows { get; init; } = 64;
    public int Columns { get; init; } = 64;
    public int Slices { get; init; } = 24;
    public double SliceSpacingMm { get; init; } = 5;
    public double PixelSpacingMm { get; init; } = 6;

    /// <summary>Phases (0 non-contrast … 3 delayed) to generate; leave one out for a "missing phase" study.</summary>
    public IReadOnlyList<int> Phases { get; init; } = [0, 1, 2, 3];

    public string StudyDate { get; init; } = "20261120";
    public int Seed { get; init; } = 1;

    /// <summary>The series UID of a phase (the one dynamic series for <see cref="SyntheticLayout.DynamicSeries"/>).</summary>
    public string SeriesUid(int phase) => Layout == SyntheticLayout.DynamicSeries ? $"{StudyInstanceUid}.9" : $"{StudyInstanceUid}.{phase + 1}";

    /// <summary>All instances, phase by phase, slice by slice.</summary>
    public IEnumerable<byte[]> Instances()
    {
        foreach (var phase in Phases)
        {
            for (var z = 0; z < Slices; z++)
            {
                yield return Instance(phase, z);
            }
        }
    }

    public byte[] Instance(int phase, int z)
    {
        var sopUid = $"{SeriesUid(phase)}.{phase + 1}{z + 1:D4}";
        var contrastStart = 10 * 3600 + 15 * 60; // 10:15:00
        var acquired = contrastStart + DelaySeconds[phase];
        var writer = new DicomWriter()
            .Add(DicomTags.SpecificCharacterSet, DicomVR.CS, "ISO_IR 192")
            .Add(DicomTags.ImageType, DicomVR.CS, "ORIGINAL\\PRIMARY\\OTHER")
            .Add(DicomTags.SopClassUid, DicomVR.UI, MrImageStorage)
            .Add(DicomTags.SopInstanceUid, DicomVR.UI, sopUid)
            .Add(DicomTags.StudyDate, DicomVR.DA, StudyDate)
            .Add(DicomTags.AcquisitionTime, DicomVR.TM, Time(acquired))
            .Add(DicomTags.Modality, DicomVR.CS, "MR")
            .Add(DicomTags.SeriesDescription, DicomVR.LO, Layout == SyntheticLayout.DynamicSeries ? "T1 DYNAMIC" : Descriptions[phase])
            .Add(DicomTags.PatientName, DicomVR.PN, "Synthetic^Phantom")
            .Add(DicomTags.PatientId, DicomVR.LO, PatientId)
            .Add(DicomTags.SliceThickness, DicomVR.DS, F(SliceSpacingMm))
            .Add(DicomTags.StudyInstanceUid, DicomVR.UI, StudyInstanceUid)
            .Add(DicomTags.SeriesInstanceUid, DicomVR.UI, SeriesUid(phase))
            .Add(DicomTags.SeriesNumber, DicomVR.IS, Layout == SyntheticLayout.DynamicSeries ? "9" : (phase + 1).ToString(CultureInfo.InvariantCulture))
            .Add(DicomTags.InstanceNumber, DicomVR.IS, (z + 1 + (Layout == SyntheticLayout.DynamicSeries ? phase * Slices : 0)).ToString(CultureInfo.InvariantCulture))
            .Add(DicomTags.ImagePositionPatient, DicomVR.DS, $"-192\\-192\\{F(-60 + z * SliceSpacingMm)}")
            .Add(DicomTags.ImageOrientationPatient, DicomVR.DS, "1\\0\\0\\0\\1\\0")
            .Add(DicomTags.SamplesPerPixel, DicomVR.US, 1)
            .Add(DicomTags.PhotometricInterpretation, DicomVR.CS, "MONOCHROME2")
            .Add(DicomTags.Rows, DicomVR.US, (ushort)Rows)
            .Add(DicomTags.Columns, DicomVR.US, (ushort)Columns)
            .Add(DicomTags.PixelSpacing, DicomVR.DS, $"{F(PixelSpacingMm)}\\{F(PixelSpacingMm)}")
            .Add(DicomTags.BitsAllocated, DicomVR.US, 16)
            .Add(DicomTags.BitsStored, DicomVR.US, 12)
            .Add(DicomTags.HighBit, DicomVR.US, 11)
            .Add(DicomTags.PixelRepresentation, DicomVR.US, 0)
            .Add(DicomTags.RescaleIntercept, DicomVR.DS, "0")
            .Add(DicomTags.RescaleSlope, DicomVR.DS, "1")
            .AddBytes(DicomTags.PixelData, DicomVR.OW, Pixels(phase, z));
        if (phase > 0 || Layout == SyntheticLayout.DynamicSeries)
        {
            writer.Add(DicomTags.ContrastBolusAgent, DicomVR.LO, "Gadoxetate")
                .Add(DicomTags.ContrastBolusStartTime, DicomVR.TM, Time(contrastStart));
        }

        if (Layout == SyntheticLayout.DynamicSeries)
        {
            writer.Add(DicomTags.TemporalPositionIdentifier, DicomVR.IS, (phase + 1).ToString(CultureInfo.InvariantCulture))
                .Add(DicomTags.NumberOfTemporalPositions, DicomVR.IS, "4");
        }

        return writer.ToPart10(MrImageStorage, sopUid);
    }

    private byte[] Pixels(int phase, int z)
    {
        double[] liver = [300, 380, 520, 450];
        double[] lesion = [250, 900, 430, 330];
        var random = new Random(HashCode.Combine(Seed, phase, z));
        var bytes = new byte[Rows * Columns * 2];
        var zc = (z - Slices / 2.0) / (Slices / 2.0);
        for (var r = 0; r < Rows; r++)
        {
            var y = (r - Rows / 2.0) / (Rows / 2.0);
            for (var c = 0; c < Columns; c++)
            {
                var x = (c - Columns / 2.0) / (Columns / 2.0);
                var inLiver = x * x / 0.7 + y * y / 0.5 + zc * zc / 1.2 < 1;
                var lx = x - 0.2;
                var ly = y + 0.1;
                var inLesion = lx * lx + ly * ly + zc * zc * 0.5 < 0.03;
                var value = inLesion ? lesion[phase] : inLiver ? liver[phase] : 40;
                value += random.NextDouble() * 20;
                var stored = (ushort)Math.Clamp(value, 0, 4095);
                bytes[(r * Columns + c) * 2] = (byte)stored;
                bytes[(r * Columns + c) * 2 + 1] = (byte)(stored >> 8);
            }
        }

        return bytes;
    }

    private static string F(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);

    private static string Time(int seconds) => $"{seconds / 3600:D2}{seconds / 60 % 60:D2}{seconds % 60:D2}";
}
