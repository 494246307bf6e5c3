using System.Globalization;

namespace CdsRisk.Core.Imaging;

/// <summary>
/// Turns the MR instances of one study into the four phase volumes and the model tensor: group by series and time point,
/// check geometry, identify phases, resample, normalise and check quality. See <see cref="PhaseRules"/> for the limits.
/// </summary>
public static class StudyAssembler
{
    private sealed record Candidate(string SeriesUid, string? TimePoint, double TimeOrder, IReadOnlyList<ImagingSlice> Slices)
    {
        public ImagingSlice First => Slices[0];
        public string Text => $"{First.SeriesDescription} {First.ProtocolName}".ToLowerInvariant();
        public bool HasContrastAgent => !string.IsNullOrWhiteSpace(First.ContrastBolusAgent);
    }

    private sealed record Built(Candidate Candidate, VolumeGeometry Geometry, IReadOnlyList<float[]> Planes);

    /// <param name="studyDate">The Study Date as the server reports it (QIDO-RS); when null, the first Study (or Acquisition) Date the instances carry.</param>
    public static StudyImagingResult Assemble(IReadOnlyList<ImagingSlice> slices, PhaseRules rules, ImageInputSpec spec, DateOnly? referenceDate,
        DateOnly? studyDate = null)
    {
        var refusals = new List<ImagingRefusal>();
        var skipped = new List<ImagingRefusal>();

        studyDate ??= slices.Select(s => s.StudyDate ?? s.AcquisitionDate).FirstOrDefault(d => d is not null);
        if (referenceDate is { } today && studyDate is { } date)
        {
            var age = today.DayNumber - date.DayNumber;
            if (age < 0 || age > rules.MaxStudyAgeDays)
            {
                refusals.Add(new(ImagingRefusalReason.OutsideWindow, null, null,
                    $"study acquired {date:yyyy-MM-dd}, {age} days before {today:yyyy-MM-dd}; the protocol accepts 0 to {rules.MaxStudyAgeDays} days"));
            }
        }

        var built = new List<Built>();
        foreach (var series in slices.GroupBy(s => s.SeriesInstanceUid))
        {
            var modality = series.First().Modality;
            if (modality != "MR")
            {
                skipped.Add(new(ImagingRefusalReason.NotMR, series.Key, null, $"modality {modality ?? "absent"}, not MR"));
                continue;
            }

            foreach (var candidate in SplitTimePoints(series.Key, series.ToList()))
            {
                if (Build(candidate, rules, spec, out var volume) is { } refusal)
                {
                    skipped.Add(refusal);
                }
                else
                {
                    built.Add(volume!);
                }
            }
        }

        var assigned = Identify(built, rules);
        var phases = new List<PhaseVolume>();
        foreach (var phase in Enum.GetValues<Phase>())
        {
            if (assigned.TryGetValue(phase, out var found))
            {
                var (volume, how, detail) = found;
                phases.Add(new PhaseVolume(phase, volume.Candidate.SeriesUid, volume.Candidate.First.SeriesDescription, volume.Candidate.TimePoint,
                    volume.Planes.Count, volume.Geometry, how, detail));
            }
            else
            {
                var why = skipped.Count > 0 ? $"; set aside: {string.Join("; ", skipped.Select(s => $"{s.SeriesInstanceUid}{(s.TimePoint is null ? "" : "@" + s.TimePoint)} {s.Reason}"))}" : "";
                refusals.Add(new(ImagingRefusalReason.PhaseMissing, null, null, $"no usable {phase} volume among {built.Count} candidate volume(s){why}"));
            }
        }

        if (refusals.Count > 0)
        {
            return new StudyImagingResult(phases, refusals, skipped, null) { StudyDate = studyDate };
        }

        var tensor = new float[spec.TensorLength];
        foreach (var phase in phases)
        {
            var volume = assigned[phase.Phase].Volume;
            var target = tensor.AsSpan((int)phase.Phase * spec.VoxelsPerPhase, spec.VoxelsPerPhase);
            Resampling.ResampleDepth(volume.Planes, target, spec.Depth);
            if (CheckQuality(target, rules) is { } problem)
            {
                refusals.Add(new(problem.Reason, phase.SeriesInstanceUid, phase.TimePoint, $"{phase.Phase}: {problem.Detail}"));
                continue;
            }

            Resampling.Normalise(target, spec.MinStd, spec.ClipLimit);
        }

        return new StudyImagingResult(phases, refusals, skipped, refusals.Count == 0 ? tensor : null) { StudyDate = studyDate };
    }

    /// <summary>A dynamic series holds several time points: split by Temporal Position Identifier, else Trigger Time, else Acquisition Number.</summary>
    private static IEnumerable<Candidate> SplitTimePoints(string seriesUid, List<ImagingSlice> slices)
    {
        var keys = new (string Name, Func<ImagingSlice, double?> Key)[]
        {
            ("TemporalPositionIdentifier", s => s.TemporalPositionIdentifier),
            ("TriggerTime", s => s.TriggerTime),
            ("AcquisitionNumber", s => s.AcquisitionNumber),
        };
        foreach (var (name, key) in keys)
        {
            if (slices.All(s => key(s) is not null) && slices.Select(key).Distinct().Count() > 1)
            {
                foreach (var group in slices.GroupBy(s => key(s)!.Value).OrderBy(g => g.Key))
                {
                    var list = group.ToList();
                    yield return new Candidate(seriesUid, $"{name}={group.Key.ToString(CultureInfo.InvariantCulture)}",
                        list.Min(s => s.AcquisitionSeconds) ?? group.Key, list);
                }

                yield break;
            }
        }

        yield return new Candidate(seriesUid, null, slices.Min(s => s.AcquisitionSeconds) ?? slices[0].SeriesNumber ?? 0, slices);
    }

    private static ImagingRefusal? Build(Candidate candidate, PhaseRules rules, ImageInputSpec spec, out Built? volume)
    {
        volume = null;
        ImagingRefusal Refuse(ImagingRefusalReason reason, string detail) => new(reason, candidate.SeriesUid, candidate.TimePoint, detail);
        var slices = candidate.Slices;
        if (slices.FirstOrDefault(s => s.Plane is null) is { } bad)
        {
            return Refuse(ImagingRefusalReason.UnreadablePixels, $"instance {bad.SopInstanceUid}: {bad.PixelProblem}");
        }

        if (slices.Any(s => s.Position is null || s.Orientation is null || s.PixelSpacing is null))
        {
            return Refuse(ImagingRefusalReason.MissingGeometry, "an instance lacks Image Position/Orientation (Patient) or Pixel Spacing");
        }

        if (slices.Count < rules.MinSlices)
        {
            return Refuse(ImagingRefusalReason.TooFewSlices, $"{slices.Count} slices, at least {rules.MinSlices} needed");
        }

        var first = slices[0];
        if (slices.Any(s => s.Rows != first.Rows || s.Columns != first.Columns
            || Math.Abs(s.PixelSpacing![0] - first.PixelSpacing![0]) > 1e-3 || Math.Abs(s.PixelSpacing[1] - first.PixelSpacing[1]) > 1e-3))
        {
            return Refuse(ImagingRefusalReason.InconsistentGeometry, "instances differ in rows, columns or pixel spacing");
        }

        var o = first.Orientation!;
        if (slices.Any(s => s.Orientation!.Zip(o).Any(p => Math.Abs(p.First - p.Second) > rules.OrientationTolerance)))
        {
            return Refuse(ImagingRefusalReason.MixedOrientations, "instances have different Image Orientation (Patient)");
        }

        // Slice normal = row direction × column direction (PS3.3 §C.7.6.2.1.1); sort by the position's projection on it.
        double nx = o[1] * o[5] - o[2] * o[4], ny = o[2] * o[3] - o[0] * o[5], nz = o[0] * o[4] - o[1] * o[3];
        var norm = Math.Sqrt(nx * nx + ny * ny + nz * nz);
        if (norm < 0.5)
        {
            return Refuse(ImagingRefusalReason.InconsistentGeometry, "row and column directions are not orthogonal unit vectors");
        }

        var sorted = slices.Select(s => (Slice: s, Distance: (s.Position![0] * nx + s.Position[1] * ny + s.Position[2] * nz) / norm))
            .OrderBy(p => p.Distance).ToList();
        var gaps = new double[sorted.Count - 1];
        for (var i = 1; i < sorted.Count; i++)
        {
            gaps[i - 1] = sorted[i].Distance - sorted[i - 1].Distance;
            if (gaps[i - 1] < 1e-3)
            {
                return Refuse(ImagingRefusalReason.RepeatedPositions,
                    $"two slices at {sorted[i].Distance:F3} mm along the normal (several time points without a distinguishing tag?)");
            }
        }

        var median = gaps.Order().ElementAt(gaps.Length / 2);
        var worst = gaps.Max(g => Math.Abs(g - median));
        if (worst > rules.SpacingTolerance * median)
        {
            return Refuse(ImagingRefusalReason.UnevenSpacing, $"slice gaps from {gaps.Min():F2} to {gaps.Max():F2} mm (median {median:F2})");
        }

        var coverage = sorted[^1].Distance - sorted[0].Distance;
        var geometry = new VolumeGeometry(first.Rows, first.Columns, first.PixelSpacing![0], first.PixelSpacing[1],
            coverage / (sorted.Count - 1), coverage, o, sorted[0].Slice.Position!);
        if (coverage < rules.MinCoverageMm)
        {
            return Refuse(ImagingRefusalReason.TruncatedCoverage, $"slices cover {coverage:F1} mm along the normal, at least {rules.MinCoverageMm} mm needed");
        }

        volume = new Built(candidate, geometry, sorted.Select(p => p.Slice.Plane!).ToList());
        return null;
    }

    private static Dictionary<Phase, (Built Volume, PhaseIdentification How, string Detail)> Identify(List<Built> volumes, PhaseRules rules)
    {
        var result = new Dictionary<Phase, (Built, PhaseIdentification, string)>();
        var used = new HashSet<Built>();
        var keywordOrder = new (Phase Phase, IReadOnlyList<string> Words)[]
        {
            (Phase.Delayed, rules.DelayedKeywords), (Phase.PortalVenous, rules.PortalVenousKeywords),
            (Phase.Arterial, rules.ArterialKeywords), (Phase.NonContrast, rules.NonContrastKeywords),
        };

        // 1. Keywords in description or protocol name (a dynamic series' shared description says nothing per time point).
        foreach (var volume in volumes.Where(v => v.Candidate.TimePoint is null).OrderBy(v => v.Candidate.TimeOrder))
        {
            foreach (var (phase, words) in keywordOrder)
            {
                if (!result.ContainsKey(phase) && Match(volume.Candidate.Text, words) is { } word)
                {
                    result[phase] = (volume, PhaseIdentification.DescriptionKeyword, $"keyword '{word}' in \"{volume.Candidate.First.SeriesDescription}\"");
                    used.Add(volume);
                    break;
                }

                if (Match(volume.Candidate.Text, words) is not null)
                {
                    break;
                }
            }
        }

        // 2. Contrast timing: acquisition time minus Contrast/Bolus Start Time.
        var windows = new (Phase Phase, double Min, double Max)[]
        {
            (Phase.Arterial, rules.ArterialMinSeconds, rules.ArterialMaxSeconds),
            (Phase.PortalVenous, rules.PortalVenousMinSeconds, rules.PortalVenousMaxSeconds),
            (Phase.Delayed, rules.DelayedMinSeconds, rules.DelayedMaxSeconds),
        };
        foreach (var volume in volumes.Where(v => !used.Contains(v)).OrderBy(v => v.Candidate.TimeOrder))
        {
            var first = volume.Candidate.First;
            if (first.ContrastStartSeconds is not { } start || volume.Candidate.Slices.Min(s => s.AcquisitionSeconds) is not { } acquired)
            {
                continue;
            }

            var delay = acquired - start;
            foreach (var (phase, min, max) in windows)
            {
                if (!result.ContainsKey(phase) && delay >= min && delay <= max)
                {
                    result[phase] = (volume, PhaseIdentification.ContrastTiming, $"acquired {delay:F0} s after contrast start (window {min}-{max} s)");
                    used.Add(volume);
                    break;
                }
            }
        }

        // 3. Time order: non-contrast = the earliest volume without a contrast agent; then the following volumes in order.
        var remaining = volumes.Where(v => !used.Contains(v)).OrderBy(v => v.Candidate.TimeOrder).ToList();
        if (!result.ContainsKey(Phase.NonContrast) && remaining.FirstOrDefault(IsPlain) is { } plain
            && remaining.All(v => v.Candidate.TimeOrder >= plain.Candidate.TimeOrder))
        {
            result[Phase.NonContrast] = (plain, PhaseIdentification.TimeOrder, plain.Candidate.HasContrastAgent
                ? $"earliest volume, first time point of its dynamic series, acquired before contrast start ({plain.Candidate.TimePoint})"
                : "earliest volume, no contrast agent recorded");
            used.Add(plain);
            remaining.Remove(plain);
        }

        if (result.TryGetValue(Phase.NonContrast, out var baseline))
        {
            var after = remaining.Where(v => v.Candidate.TimeOrder > baseline.Item1.Candidate.TimeOrder).ToList();
            var index = 0;
            foreach (var phase in new[] { Phase.Arterial, Phase.PortalVenous, Phase.Delayed })
            {
                if (result.TryGetValue(phase, out var known))
                {
                    // Later time-ordered volumes must come after an identified phase, not before it.
                    after = after.Where(v => v.Candidate.TimeOrder > known.Item1.Candidate.TimeOrder).ToList();
                    index = 0;
                    continue;
                }

                if (index < after.Count)
                {
                    var volume = after[index++];
                    result[phase] = (volume, PhaseIdentification.TimeOrder, $"post-contrast volume {index} in time order after the non-contrast volume");
                }
            }
        }

        return result;
    }

    /// <summary>Could be the non-contrast volume: no agent recorded, or the first time point of a dynamic series acquired before contrast start.</summary>
    private static bool IsPlain(Built volume)
    {
        var c = volume.Candidate;
        if (!c.HasContrastAgent)
        {
            return true;
        }

        var acquired = c.Slices.Min(s => s.AcquisitionSeconds);
        return c.TimePoint is not null && c.First.ContrastStartSeconds is { } start && acquired is { } a && a < start;
    }

    private static string? Match(string text, IReadOnlyList<string> words)
    {
        var tokens = text.Split([' ', '_', '-', '/', '(', ')', '+', '.', ',', ':'], StringSplitOptions.RemoveEmptyEntries);
        foreach (var word in words)
        {
            if (word.Length >= 6 || word.Contains(' ') || word.Contains('-') ? text.Contains(word, StringComparison.Ordinal) : tokens.Contains(word))
            {
                return word;
            }
        }

        return null;
    }

    /// <summary>Quality checks on the resampled (not yet normalised) phase: finite, not constant, not noise-dominated.</summary>
    private static (ImagingRefusalReason Reason, string Detail)? CheckQuality(ReadOnlySpan<float> volume, PhaseRules rules)
    {
        double sum = 0, squares = 0;
        foreach (var v in volume)
        {
            if (!float.IsFinite(v))
            {
                return (ImagingRefusalReason.UnreadablePixels, "non-finite modality values");
            }

            sum += v;
        }

        var mean = sum / volume.Length;
        double diffSquares = 0;
        for (var i = 0; i < volume.Length; i++)
        {
            var d = volume[i] - mean;
            squares += d * d;
            if (i > 0)
            {
                var n = volume[i] - volume[i - 1];
                diffSquares += n * n;
            }
        }

        var std = Math.Sqrt(squares / volume.Length);
        if (std < 1e-6 * Math.Max(1, Math.Abs(mean)))
        {
            return (ImagingRefusalReason.EmptyOrConstantVolume, $"constant volume (value {mean:G4})");
        }

        // For white noise the neighbour difference has √2 times the spread of the values; anatomy is far smoother.
        var noise = Math.Sqrt(diffSquares / (volume.Length - 1)) / std;
        return noise > rules.MaxNoiseRatio
            ? (ImagingRefusalReason.ExcessiveNoise, $"neighbour differences are {noise:F2}× the value spread (limit {rules.MaxNoiseRatio})")
            : null;
    }
}
