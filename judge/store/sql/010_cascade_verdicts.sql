-- Cascade judges (docs/judges.md, "Cascade"): which stage decided each verdict, and every stage's answer.
-- verdicts.status may now also be 'unsure' (a judge abstained below its abstain_below; tier NULL).
ALTER TABLE verdicts ADD COLUMN decided_by VARCHAR;
ALTER TABLE verdicts ADD COLUMN cascade JSON;

COMMENT ON COLUMN verdicts.decided_by IS 'Cascade judges: the stage model whose verdict stands; NULL for other judges.';
COMMENT ON COLUMN verdicts.cascade IS 'Cascade judges: {"stages": [{stage, status, tier, confidence, cost_usd, calls}], "audit": bool, "audit_tier": …}.';
COMMENT ON COLUMN verdicts.status IS 'ok | error | unsure (the judge abstained: tier NULL, error_kind unsure, error_message the reason)';
