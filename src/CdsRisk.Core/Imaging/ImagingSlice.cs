using System.Buffers;
using CdsRisk.Dicom;

namespace CdsRisk.Core.Imaging;

/// <summary>
/// What phase selection needs from one MR instance: identity, timing, geometry, and its pixels already reduced in-plane to the
/// model's H × W (modality values). Built as each instance arrives, so the instance's bytes can be released at once.
/// </summary>
public sealed record ImagingSlice
{
    public required string SeriesInstanceUid { get; init; }
    public string? SopInstanceUid { get; init; }
    public string? Modality { get; init; }
    public string? SeriesDescription { get; init; }
    public string? ProtocolName { get; init; }
    public int? SeriesNumber { get; init; }
    public int? InstanceNumber { get; init; }
    public double? TemporalPositionIdentifier { get; init; }
    public double? TriggerTime { get; init; }
    public double? AcquisitionNumber { get; init; }
    public DateOnly? StudyDate { get; init; }
    public DateOnly? AcquisitionDate { get; init; }

    /// <summary>Acquisition time (or content / series time), seconds since midnight.</summary>
    public double? AcquisitionSeconds { get; init; }
    public string? ContrastBolusAgent { get; init; }

    /// <summary>Contrast/Bolus Start Time, seconds since midnight.</summary>
    public double? ContrastStartSeconds { get; init; }
    public double[]? Position { get; init; }
    public double[]? Orientation { get; init; }
    public double[]? PixelSpacing { get; init; }
    public int Rows { get; init; }
    public int Columns { get; init; }

    /// <summary>Modality values reduced to the spec's H × W, row-major; null when <see cref="PixelProblem"/> says why not.</summary>
    public float[]? Plane { get; init; }
    public string? PixelProblem { get; init; }

    /// <summary>Reads one instance. Never throws for bad content: value or pixel problems are recorded on the slice.</summary>
    public static ImagingSlice FromDataset(DicomDataset dataset, ImageInputSpec spec)
    {
        string? problem = null;
        T? Try<T>(Func<T?> read)
        {
            try
            {
                return read();
            }
            catch (DicomReadException ex)
            {
                problem ??= ex.Message;
                return default;
            }
        }

        double[]? Numbers(DicomTag tag, int count) => Try(() =>
        {
            var values = dataset.GetNumbers(tag);
            return values.Length >= count ? values[..count] : null;
        });

        var slice = new ImagingSlice
        {
            SeriesInstanceUid = Try(() => dataset.GetString(DicomTags.SeriesInstanceUid)) ?? "",
            SopInstanceUid = Try(() => dataset.GetString(DicomTags.SopInstanceUid)),
            Modality = Try(() => dataset.GetString(DicomTags.Modality)),
            SeriesDescription = Try(() => dataset.GetString(DicomTags.SeriesDescription)),
            ProtocolName = Try(() => dataset.GetString(DicomTags.ProtocolName)),
            SeriesNumber = Try(() => dataset.GetInt32(DicomTags.SeriesNumber)),
            InstanceNumber = Try(() => dataset.GetInt32(DicomTags.InstanceNumber)),
            TemporalPositionIdentifier = Try(() => dataset.GetDouble(DicomTags.TemporalPositionIdentifier)),
            TriggerTime = Try(() => dataset.GetDouble(DicomTags.TriggerTime)),
            AcquisitionNumber = Try(() => dataset.GetDouble(DicomTags.AcquisitionNumber)),
            StudyDate = Try(() => dataset.GetDate(DicomTags.StudyDate)),
            AcquisitionDate = Try(() => dataset.GetDate(DicomTags.AcquisitionDate)),
            AcquisitionSeconds = Try(() => (dataset.GetTime(DicomTags.AcquisitionTime) ?? dataset.GetTime(DicomTags.ContentTime)
                ?? dataset.GetTime(DicomTags.SeriesTime))?.ToTimeSpan().TotalSeconds),
            ContrastBolusAgent = Try(() => dataset.GetString(DicomTags.ContrastBolusAgent)),
            ContrastStartSeconds = Try(() => dataset.GetTime(DicomTags.ContrastBolusStartTime)?.ToTimeSpan().TotalSeconds),
            Position = Numbers(DicomTags.ImagePositionPatient, 3),
            Orientation = Numbers(DicomTags.ImageOrientationPatient, 6),
            PixelSpacing = Numbers(DicomTags.PixelSpacing, 2),
        };

        // Value problems in descriptive tags do not spoil the pixels; only pixel problems do.
        problem = null;
        float[]? plane = null;
        int rows = 0, columns = 0;
        try
        {
            var pixels = DicomPixelData.From(dataset);
            rows = pixels.Rows;
            columns = pixels.Columns;
            if (pixels.FrameCount != 1)
            {
                problem = $"{pixels.FrameCount} frames: enhanced multi-frame MR is not assembled into volumes";
            }
            else
            {
                var buffer = ArrayPool<float>.Shared.Rent(pixels.PixelsPerFrame);
                try
                {
                    var frame = buffer.AsSpan(0, pixels.PixelsPerFrame);
                    pixels.ReadModalityValues(0, frame);
                    plane = new float[spec.Height * spec.Width];
                    Resampling.ResamplePlane(frame, rows, columns, plane, spec.Height, spec.Width);
                }
                finally
                {
                    ArrayPool<float>.Shared.Return(buffer);
                }
            }
        }
        catch (DicomReadException ex)
        {
            problem = ex.Message;
        }

        return slice with { Rows = rows, Columns = columns, Plane = plane, PixelProblem = plane is null ? problem ?? "no pixels" : null };
    }
}
