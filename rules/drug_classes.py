"""CNS depressants that add to baclofen's sedation and respiratory depression, by class.

002: "Concurrent use of Baclofen with other muscle relaxants or central nervous system
depressants can lead to enhanced effects"; 004: opioids (respiratory depression),
benzodiazepines, alcohol. One alert (CNS_DEPRESSANT_COMEDICATION) lists whatever is found.

Where the lists come from:
- Classes and members: the WHO ATC classification (WHO Collaborating Centre for Drug
  Statistics Methodology, ATC/DDD Index). Members checked against an index copy from about
  2014 (SubjectRaw/SubjectRaw subject/data/eng/atc.md @ a2ad2e9); ingredients classified
  since then (cariprazine, brexpiprazole, remimazolam, mirogabalin, cannabidiol N03AX24) are
  named from the current index and marked "later". `atc` holds the codes an ATC-coded entry
  is matched on: a class prefix, or single substances where the class is mixed.
- RxNorm ingredient codes (RxCUI, US NLM): only where verified in a public list, the CPIC
  drug table (cpicpgx/cpic-schema drug.sql @ 05f9b09) or an RxNav ATC extraction
  (Hadlock-Lab/COVID-19_vaccination_in_pregnancy utilities/medications_cc_registry.py
  @ b41385d, tricyclics and N06AX); None elsewhere: those are read by name.

Decisions: antipsychotics are all of N05A except lithium (N05AN), not a sedative; sedating
antihistamines are the first-generation R06A groups (the piperazine and "other" groups are
mixed: cetirizine, loratadine and their successors barely sedate); muscle relaxants are
M03B and dantrolene (M03CA), not baclofen itself (M03BX01: the same drug, not a
co-medication; tetrazepam, M03BX07, is read as the benzodiazepine it is); cannabinoids
include cannabidiol (its label lists somnolence and sedation, and warns about other CNS
depressants).
"""

from __future__ import annotations

from dataclasses import dataclass

Member = tuple[str, str | None]  # (ingredient name as matched in text, RxNorm ingredient)


@dataclass(frozen=True)
class DrugClass:
    label: str  # as the alert names it: "morphine (opioid)"
    atc: tuple[str, ...]  # ATC codes or class prefixes meaning this class
    members: tuple[Member, ...]


CLASSES = (
    DrugClass("opioid", (  # N02A opioids, N01AH opioid anaesthetics; N07BC, R05DA single ones
        "N02A", "N01AH", "N07BC01", "N07BC02", "N07BC05", "N07BC06", "N07BC51", "R05DA01",
        "R05DA03", "R05DA04", "R05DA05"), (
        ("morphine", "7052"), ("codeine", "2670"), ("oxycodone", "7804"),
        ("hydromorphone", "3423"), ("fentanyl", "4337"), ("methadone", "6813"),
        ("tramadol", "10689"), ("buprenorphine", "1819"), ("hydrocodone", "5489"),
        ("tapentadol", "787390"), ("alfentanil", "480"), ("oxymorphone", None),
        ("pethidine", None), ("meperidine", None), ("dihydrocodeine", None),
        ("sufentanil", None), ("remifentanil", None), ("diamorphine", None), ("heroin", None),
        ("levomethadone", None), ("levorphanol", None), ("pentazocine", None),
        ("butorphanol", None), ("nalbuphine", None), ("tilidine", None),
        ("piritramide", None), ("dextropropoxyphene", None), ("propoxyphene", None),
        ("ketobemidone", None), ("opium", None))),
    DrugClass("benzodiazepine", ("N05BA", "N05CD", "N03AE01", "M03BX07"), (
        ("diazepam", "3322"), ("lorazepam", "6470"), ("alprazolam", "596"),
        ("clonazepam", "2598"), ("midazolam", "6960"), ("temazepam", "10355"),
        ("chlordiazepoxide", "2356"), ("oxazepam", "7781"), ("clobazam", "21241"),
        ("nitrazepam", None), ("triazolam", None), ("bromazepam", None),
        ("lormetazepam", None), ("clorazepate", None), ("flurazepam", None),
        ("flunitrazepam", None), ("estazolam", None), ("loprazolam", None),
        ("prazepam", None), ("medazepam", None), ("etizolam", None), ("tetrazepam", None),
        ("remimazolam", None))),  # remimazolam: later
    DrugClass("Z-drug hypnotic", ("N05CF",), (
        ("zolpidem", "39993"), ("zopiclone", None), ("eszopiclone", None),
        ("zaleplon", None))),
    DrugClass("gabapentinoid", ("N03AX12", "N03AX16"), (
        ("gabapentin", "25480"), ("pregabalin", "187832"),
        ("mirogabalin", None))),  # mirogabalin: later
    DrugClass("barbiturate", ("N05CA", "N05CB", "N03AA", "N01AF"), (
        ("phenobarbital", "8134"), ("phenobarbitone", None), ("butalbital", None),
        ("primidone", None), ("pentobarbital", None), ("secobarbital", None),
        ("amobarbital", None), ("methylphenobarbital", None), ("thiopental", None))),
    DrugClass("muscle relaxant", ("M03BA", "M03BB", "M03BC", "M03BX02", "M03BX03",
                                  "M03BX04", "M03BX05", "M03BX06", "M03BX08", "M03BX09",
                                  "M03BX30", "M03CA"), (
        ("tizanidine", "57258"), ("cyclobenzaprine", "21949"), ("carisoprodol", "2101"),
        ("methocarbamol", "6845"), ("dantrolene", None), ("orphenadrine", None),
        ("chlorzoxazone", None), ("metaxalone", None), ("tolperisone", None),
        ("thiocolchicoside", None), ("eperisone", None), ("mephenesin", None))),
    DrugClass("sedating antihistamine", ("R06AA", "R06AB", "R06AC", "R06AD", "R06AE03",
                                         "R06AE05", "R06AX02", "R06AX07", "N05BB01"), (
        ("promethazine", "8745"), ("diphenhydramine", "3498"), ("hydroxyzine", "5553"),
        ("doxylamine", None), ("chlorphenamine", None), ("chlorpheniramine", None),
        ("dexchlorpheniramine", None), ("brompheniramine", None), ("clemastine", None),
        ("cyproheptadine", None), ("alimemazine", None), ("trimeprazine", None),
        ("dimenhydrinate", None), ("cyclizine", None), ("meclozine", None),
        ("meclizine", None), ("carbinoxamine", None), ("triprolidine", None))),
    DrugClass("antipsychotic", ("N05AA", "N05AB", "N05AC", "N05AD", "N05AE", "N05AF",
                                "N05AG", "N05AH", "N05AL", "N05AX"), (
        ("haloperidol", "5093"), ("chlorpromazine", None), ("fluphenazine", None),
        ("perphenazine", "8076"), ("prochlorperazine", None), ("trifluoperazine", None),
        ("thioridazine", "10502"), ("levomepromazine", None), ("methotrimeprazine", None),
        ("promazine", None), ("pericyazine", None), ("pimozide", "8331"),
        ("zuclopenthixol", "114176"), ("flupentixol", None), ("flupenthixol", None),
        ("loxapine", None), ("droperidol", None), ("sulpiride", None), ("amisulpride", None),
        ("quetiapine", "51272"), ("olanzapine", "61381"), ("risperidone", "35636"),
        ("clozapine", "2626"), ("aripiprazole", "89013"), ("paliperidone", None),
        ("ziprasidone", None), ("lurasidone", None), ("asenapine", None),
        ("iloperidone", "73178"), ("sertindole", None), ("zotepine", None),
        ("brexpiprazole", "1658314"), ("cariprazine", None))),  # the last two: later
    DrugClass("tricyclic antidepressant", ("N06AA",), (  # non-selective reuptake inhibitors
        ("amitriptyline", "704"), ("nortriptyline", "7531"), ("imipramine", "5691"),
        ("clomipramine", "2597"), ("doxepin", "3638"), ("desipramine", "3247"),
        ("trimipramine", "10834"), ("protriptyline", "8886"), ("amoxapine", "722"),
        ("dosulepin", "3634"), ("dothiepin", "3634"), ("lofepramine", "6465"),
        ("maprotiline", "6646"))),
    DrugClass("sedating antidepressant", ("N06AX03", "N06AX05", "N06AX06", "N06AX11"), (
        ("mirtazapine", "15996"), ("trazodone", "10737"), ("mianserin", "6929"),
        ("nefazodone", None))),
    DrugClass("cannabinoid", ("N02BG10", "A04AD10", "A04AD11", "N03AX24"), (
        ("nabiximols", None), ("dronabinol", None), ("nabilone", None),
        ("cannabidiol", None), ("tetrahydrocannabinol", None), ("cannabis", None),
        ("marijuana", None))),
    DrugClass("other sedative", ("N05CC", "N05CM02", "N05CM18", "N05BC01", "N07XX04",
                                 "N01AX11"), (
        ("dexmedetomidine", None), ("sodium oxybate", None), ("chloral hydrate", None),
        ("clomethiazole", None), ("meprobamate", None), ("ethanol", "448"))),
)

# Brand and trade names met on medication lists, read as their ingredient. Names only: a
# branded RxNorm code (SBD/BN) is matched through its display text, which names the brand.
BRAND_NAMES: dict[str, str] = {
    "ms contin": "morphine", "oramorph": "morphine", "sevredol": "morphine",
    "zomorph": "morphine", "kadian": "morphine", "mst continus": "morphine",
    "oxycontin": "oxycodone", "percocet": "oxycodone", "roxicodone": "oxycodone",
    "oxynorm": "oxycodone", "targin": "oxycodone", "endocet": "oxycodone",
    "norco": "hydrocodone", "vicodin": "hydrocodone", "lortab": "hydrocodone",
    "hysingla": "hydrocodone", "zohydro": "hydrocodone",
    "dilaudid": "hydromorphone", "palladone": "hydromorphone", "exalgo": "hydromorphone",
    "duragesic": "fentanyl", "actiq": "fentanyl", "abstral": "fentanyl",
    "ultram": "tramadol", "zydol": "tramadol", "tramal": "tramadol",
    "suboxone": "buprenorphine", "subutex": "buprenorphine", "butrans": "buprenorphine",
    "temgesic": "buprenorphine", "nucynta": "tapentadol", "palexia": "tapentadol",
    "demerol": "pethidine", "tylenol with codeine": "codeine", "tylenol #3": "codeine",
    "co-codamol": "codeine", "methadose": "methadone", "valoron": "tilidine",
    "valium": "diazepam", "stesolid": "diazepam", "diastat": "diazepam",
    "xanax": "alprazolam", "ativan": "lorazepam", "klonopin": "clonazepam",
    "rivotril": "clonazepam", "restoril": "temazepam", "librium": "chlordiazepoxide",
    "halcion": "triazolam", "onfi": "clobazam", "frisium": "clobazam", "tranxene": "clorazepate",
    "dormicum": "midazolam", "versed": "midazolam", "buccolam": "midazolam",
    "ambien": "zolpidem", "stilnox": "zolpidem", "lunesta": "eszopiclone",
    "imovane": "zopiclone", "sonata": "zaleplon",
    "lyrica": "pregabalin", "neurontin": "gabapentin", "gralise": "gabapentin",
    "horizant": "gabapentin",
    "seroquel": "quetiapine", "zyprexa": "olanzapine", "largactil": "chlorpromazine",
    "thorazine": "chlorpromazine", "haldol": "haloperidol", "serenace": "haloperidol",
    "risperdal": "risperidone", "abilify": "aripiprazole", "clozaril": "clozapine",
    "leponex": "clozapine", "invega": "paliperidone", "xeplion": "paliperidone",
    "geodon": "ziprasidone", "latuda": "lurasidone", "saphris": "asenapine",
    "rexulti": "brexpiprazole", "vraylar": "cariprazine", "reagila": "cariprazine",
    "compazine": "prochlorperazine", "stemetil": "prochlorperazine",
    "nozinan": "levomepromazine", "depixol": "flupentixol", "clopixol": "zuclopenthixol",
    "zanaflex": "tizanidine", "sirdalud": "tizanidine", "flexeril": "cyclobenzaprine",
    "amrix": "cyclobenzaprine", "soma": "carisoprodol", "robaxin": "methocarbamol",
    "dantrium": "dantrolene", "norflex": "orphenadrine", "skelaxin": "metaxalone",
    "parafon forte": "chlorzoxazone",
    "phenergan": "promethazine", "benadryl": "diphenhydramine", "atarax": "hydroxyzine",
    "vistaril": "hydroxyzine", "unisom": "doxylamine", "piriton": "chlorphenamine",
    "chlor-trimeton": "chlorpheniramine", "periactin": "cyproheptadine",
    "tavist": "clemastine", "tavegil": "clemastine", "dramamine": "dimenhydrinate",
    "antivert": "meclizine", "valoid": "cyclizine",
    "elavil": "amitriptyline", "pamelor": "nortriptyline", "tofranil": "imipramine",
    "anafranil": "clomipramine", "sinequan": "doxepin", "silenor": "doxepin",
    "surmontil": "trimipramine", "ludiomil": "maprotiline",
    "remeron": "mirtazapine", "zispin": "mirtazapine", "desyrel": "trazodone",
    "oleptro": "trazodone", "molipaxin": "trazodone",
    "sativex": "nabiximols", "marinol": "dronabinol", "syndros": "dronabinol",
    "cesamet": "nabilone", "epidiolex": "cannabidiol", "epidyolex": "cannabidiol",
    "xyrem": "sodium oxybate", "xywav": "sodium oxybate", "precedex": "dexmedetomidine",
    "luminal": "phenobarbital", "fioricet": "butalbital", "fiorinal": "butalbital",
    "mysoline": "primidone", "heminevrin": "clomethiazole",
}

