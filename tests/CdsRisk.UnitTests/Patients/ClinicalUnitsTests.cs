using CdsRisk.Core.Patients;

namespace CdsRisk.UnitTests.Patients;

public sealed class ClinicalUnitsTests
{
    [Theory]
    [InlineData(Analyte.Bilirubin, 1.2, "mg/dL", 20.52)]
    [InlineData(Analyte.Bilirubin, 20.5, "umol/L", 20.5)]
    [InlineData(Analyte.Bilirubin, 20.5, "µmol/L", 20.5)]
    [InlineData(Analyte.Albumin, 3.5, "g/dL", 35)]
    [InlineData(Analyte.Albumin, 35, "g/L", 35)]
    [InlineData(Analyte.Creatinine, 1.0, "mg/dL", 88.4)]
    [InlineData(Analyte.Creatinine, 88.4, "umol/L", 88.4)]
    [InlineData(Analyte.Platelets, 150, "10*3/uL", 150)]
    [InlineData(Analyte.Platelets, 150, "10*9/L", 150)]
    [InlineData(Analyte.Afp, 12, "ug/L", 12)]
    [InlineData(Analyte.Afp, 10, "[IU]/mL", 12.1)]
    [InlineData(Analyte.Inr, 1.1, "{INR}", 1.1)]
    [InlineData(Analyte.Inr, 1.1, "1", 1.1)]
    [InlineData(Analyte.TumourSize, 25, "mm", 2.5)]
    [InlineData(Analyte.Egfr, 60, "mL/min/{1.73_m2}", 60)]
    public void ToCanonical_ConvertsKnownUcumUnits(Analyte analyte, double value, string unit, double expected) =>
        Assert.Equal((decimal)expected, ClinicalUnits.ToCanonical(analyte, (decimal)value, unit));

    [Theory]
    [InlineData(Analyte.Bilirubin, "mg")]
    [InlineData(Analyte.Albumin, "mg/dL")]
    [InlineData(Analyte.Creatinine, "mmol/L")]
    [InlineData(Analyte.Platelets, "/uL")]
    [InlineData(Analyte.Egfr, "mL/min")]
    [InlineData(Analyte.Bilirubin, null)]
    public void ToCanonical_UnknownUnit_IsNotUsable(Analyte analyte, string? unit) =>
        Assert.Null(ClinicalUnits.ToCanonical(analyte, 1m, unit));
}
