using CdsRisk.Core.Patients;

namespace CdsRisk.Core.Scoring;

/// <summary>The model's clinical features for one patient, with every missing feature named and the reason it is missing.</summary>
public sealed record ClinicalFeatureSet(ClinicalFeatureValues Values, IReadOnlyDictionary<string, string> Missing);

/// <summary>Fills <see cref="ClinicalFeatureValues"/> (names and canonical units of <see cref="ClinicalFeatureNames"/>) from a snapshot.</summary>
public static class ClinicalFeatureBuilder
{
    public static ClinicalFeatureSet Build(PatientSnapshot s)
    {
        var values = new Dictionary<string, double?>(StringComparer.Ordinal);
        var missing = new Dictionary<string, string>(StringComparer.Ordinal);

        void Put(string name, double? value, string whyMissing)
        {
            values[name] = value;
            if (value is null)
            {
                missing[name] = whyMissing;
            }
        }

        void FromValue(string name, ClinicalValue v) =>
            Put(name, v.IsAvailable ? (double)v.Value!.Value : null, v.Describe());

        Put(ClinicalFeatureNames.AgeYears, s.Age.Years,
            s.Age.BirthDate is null ? "date of birth not recorded" : $"birth date '{s.Age.BirthDate}' gives no exact age");
        Put(ClinicalFeatureNames.SexMale, s.SexMale switch { true => 1, false => 0, null => null }, "administrative sex not male or female");
        FromValue(ClinicalFeatureNames.AfpNgPerMl, s.Afp);
        FromValue(ClinicalFeatureNames.AlbuminGPerL, s.Albumin);
        FromValue(ClinicalFeatureNames.BilirubinUmolPerL, s.Bilirubin);
        FromValue(ClinicalFeatureNames.PlateletsE9PerL, s.Platelets);
        FromValue(ClinicalFeatureNames.Inr, s.Inr);
        FromValue(ClinicalFeatureNames.TumourSizeCm, s.TumourSizeCm);
        FromValue(ClinicalFeatureNames.TumourCount, s.TumourCount);
        return new ClinicalFeatureSet(new ClinicalFeatureValues(values), missing);
    }
}
