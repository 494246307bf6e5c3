using CdsRisk.Core.Eligibility;
using CdsRisk.Core.Patients;
using CdsRisk.Core.Scoring;
using CdsRisk.UnitTests.Eligibility;
using Hl7.Fhir.Model;

namespace CdsRisk.UnitTests.Patients;

public sealed class PatientSnapshotTests
{
    private static readonly DateTimeOffset At = new(2026, 6, 15, 9, 0, 0, TimeSpan.Zero);
    private static readonly EligibilityEngine Engine = new(EligibilityData.LoadEmbedded());

    private static PatientRecord Base() => Vignette.Record("01-base-eligible");

    private static Observation Lab(string id, string loinc, decimal value, string unit, DateTimeOffset when, ObservationStatus status = ObservationStatus.Final) => new()
    {
        Id = id,
        Status = status,
        Code = new CodeableConcept("http://loinc.org", loinc),
        Effective = new FhirDateTime(when),
        Value = new Quantity(value, unit),
    };

    [Fact]
    public void Snapshot_ConvertsUnitsAndComputesScores()
    {
        var s = Engine.Snapshot(Base(), At);
        Assert.Equal(60, s.Age.Years);
        Assert.True(s.SexMale);
        Assert.Equal(13.68m, s.Bilirubin.Value);
        Assert.Equal(41m, s.Albumin.Value);
        Assert.Equal(165m, s.Platelets.Value);
        Assert.Equal(5, s.ChildPugh.Score);
        Assert.Equal(1, s.Albi!.Grade);
        Assert.Equal("histology", s.Hcc!.Basis);
        Assert.Equal("A", Assert.Single(s.RecordedBclc).Stage);
        Assert.Equal("ImagingStudy/mri", s.LatestMri!.Reference);
        Assert.Equal(4, s.LatestMri.SeriesCount);
    }

    [Fact]
    public void Snapshot_IgnoresObservationsAfterTheEvaluationTime()
    {
        var record = Base() with { Observations = [.. Base().Observations, Lab("future", "1751-7", 2.0m, "g/dL", At.AddDays(2))] };
        Assert.Equal(41m, Engine.Snapshot(record, At).Albumin.Value);
    }

    [Fact]
    public void Snapshot_ValuesBeyondTheConflictWindow_AreNotConflicts()
    {
        var older = Lab("old-alb", "1751-7", 3.0m, "g/dL", new DateTimeOffset(2026, 6, 1, 8, 0, 0, TimeSpan.Zero));
        var s = Engine.Snapshot(Base() with { Observations = [.. Base().Observations, older] }, At);
        Assert.Equal(ValueState.Available, s.Albumin.State);
        Assert.Equal(41m, s.Albumin.Value);
    }

    [Fact]
    public void Snapshot_CancelledObservationsAreIgnored()
    {
        var cancelled = Lab("x", "1751-7", 2.0m, "g/dL", At.AddHours(-1), ObservationStatus.Cancelled);
        Assert.Equal(41m, Engine.Snapshot(Base() with { Observations = [.. Base().Observations, cancelled] }, At).Albumin.Value);
    }

    [Fact]
    public void Snapshot_ValueWithComparator_IsNotUsable()
    {
        var bound = Lab("bound", "1975-2", 0.2m, "mg/dL", At.AddHours(-1));
        ((Quantity)bound.Value!).Comparator = Quantity.QuantityComparator.LessThan;
        var s = Engine.Snapshot(Base() with { Observations = [.. Base().Observations, bound] }, At);
        Assert.Equal(ValueState.Unusable, s.Bilirubin.State);
        Assert.Contains("bound", s.Bilirubin.Detail);
    }

    [Fact]
    public void ClinicalFeatures_AreInCanonicalUnits_AndMissingOnesAreNamed()
    {
        var record = Base() with { Observations = [.. Base().Observations.Where(o => o.Id != "afp")] };
        var features = ClinicalFeatureBuilder.Build(Engine.Snapshot(record, At));

        Assert.Equal(ClinicalFeatureNames.All.Order(), features.Values.Values.Keys.Order());
        Assert.Equal(60, features.Values[ClinicalFeatureNames.AgeYears]);
        Assert.Equal(1, features.Values[ClinicalFeatureNames.SexMale]);
        Assert.Equal(41, features.Values[ClinicalFeatureNames.AlbuminGPerL]);
        Assert.Equal(13.68, features.Values[ClinicalFeatureNames.BilirubinUmolPerL]!.Value, 6);
        Assert.Equal(3.2, features.Values[ClinicalFeatureNames.TumourSizeCm]!.Value, 6);
        Assert.Equal(1, features.Values[ClinicalFeatureNames.TumourCount]);
        Assert.Null(features.Values[ClinicalFeatureNames.AfpNgPerMl]);
        Assert.Contains("not recorded", features.Missing[ClinicalFeatureNames.AfpNgPerMl]);
        Assert.Single(features.Missing);
    }
}
