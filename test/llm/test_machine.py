from llm_mars.llm.machine import FLAGS, Machine, _cpuinfo, this_machine

X86 = """processor\t: 0
model name\t: AMD EPYC 7B13
flags\t\t: fpu sse sse2 avx avx2 fma bmi2
processor\t: 1
model name\t: AMD EPYC 7B13
flags\t\t: fpu sse sse2 avx avx2 fma bmi2
"""
ARM = """processor\t: 0
BogoMIPS\t: 50.00
Features\t: fp asimd evtstrm aes crc32 atomics fphp asimdhp asimddp bf16 i8mm
CPU part\t: 0xd4b
"""


def test_x86_model_and_the_flags_that_pick_kernels():
    model, flags = _cpuinfo(X86)
    assert model == "AMD EPYC 7B13"
    assert [f for f in FLAGS if f in flags] == ["avx2"]


def test_arm_features_are_its_flags():
    model, flags = _cpuinfo(ARM)
    assert model == ""
    assert {"asimd", "bf16", "i8mm"} <= flags


def test_this_machine_names_its_cpu(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text(X86)
    machine = this_machine(info)
    assert machine.cpu == "AMD EPYC 7B13" and machine.flags == ("avx2",)
    assert machine.cores >= 1
    assert "AMD EPYC 7B13" in machine.describe() and "avx2" in machine.describe()
    assert machine.to_json()["flags"] == ["avx2"]


def test_an_unreadable_cpuinfo_still_names_something(tmp_path):
    machine = this_machine(tmp_path / "absent")
    assert machine.cpu and machine.flags == ()
    assert "none of" in Machine("x", 1, (), None).describe()
